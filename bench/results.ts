// Collects the bench's named figures, prints them as a table and writes
// bench/results.json (one number per name, e.g. "unary_p50_us.driverplug").
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface Figure {
  name: string;
  value: number;
  unit: string;
  note: string;
}

export interface TargetCheck {
  what: string;
  pass: boolean;
  measured: string;
  limit: string;
}

export class Results {
  readonly figures: Figure[] = [];
  readonly checks: TargetCheck[] = [];
  readonly notes: string[] = [];

  add(name: string, value: number, unit: string, note = ""): void {
    if (!Number.isFinite(value)) throw new Error(`figure ${name} is not a finite number (${value})`);
    const i = this.figures.findIndex((f) => f.name === name);
    const figure = { name, value, unit, note };
    if (i >= 0) this.figures[i] = figure;
    else this.figures.push(figure);
  }

  get(name: string): number | undefined {
    return this.figures.find((f) => f.name === name)?.value;
  }

  check(what: string, pass: boolean, measured: string, limit: string): void {
    this.checks.push({ what, pass, measured, limit });
  }

  note(text: string): void {
    this.notes.push(text);
  }

  table(): string {
    const rows = this.figures.map((f) => [f.name, format(f.value), f.unit, f.note]);
    const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length), 4));
    const line = (r: string[]) =>
      `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padStart(widths[1]!)}  ${r[2]!.padEnd(widths[2]!)}  ${r[3]}`.trimEnd();
    const out = [line(["figure", "value", "unit", "note"]), ...rows.map(line), ""];
    for (const c of this.checks) out.push(`${c.pass ? "PASS" : "FAIL"}  ${c.what}: ${c.measured} (target ${c.limit})`);
    for (const n of this.notes) out.push(`note: ${n}`);
    return out.join("\n");
  }

  /** results.json: figure names to numbers, plus the target verdicts and notes. */
  json(meta: Record<string, unknown>): string {
    const figures = Object.fromEntries(this.figures.map((f) => [f.name, round(f.value)]));
    return `${JSON.stringify({ ...meta, figures, targets: this.checks, notes: this.notes }, null, 2)}\n`;
  }
}

export function resultsPath(): string {
  return fileURLToPath(new URL("../../bench/results.json", import.meta.url));
}

export function writeResults(results: Results, meta: Record<string, unknown>, path = resultsPath()): void {
  writeFileSync(path, results.json(meta));
}

function round(v: number): number {
  return Math.abs(v) >= 100 ? Math.round(v) : Number(v.toPrecision(4));
}

function format(v: number): string {
  return String(round(v));
}
