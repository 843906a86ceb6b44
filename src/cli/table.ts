// Plain-text tables for `ls` and friends: left-aligned columns separated by
// two spaces, as docker-machine ls prints them. Cells often hold plugin text
// (IPs, errors, flag usage): each is made printable, one row per line.
import { printable } from "../host/printable-text.js";

export function renderTable(headers: readonly string[], rawRows: readonly (readonly string[])[]): string {
  const rows = rawRows.map((r) => r.map(printable));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}
