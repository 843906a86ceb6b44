// The last few lines a plugin wrote to stderr, kept so that "the plugin died"
// errors can say why. Bounded in line count and line length, and kept
// printable: the tail ends up in error messages shown on a terminal.
import { printable } from "./printable-text.js";

export class StderrTail {
  private lines: string[] = [];

  constructor(
    private readonly maxLines = 20,
    private readonly maxLineChars = 2000,
  ) {}

  add(line: string): void {
    this.lines.push(printable(line.length > this.maxLineChars ? `${line.slice(0, this.maxLineChars)}...` : line));
    if (this.lines.length > this.maxLines) this.lines.shift();
  }

  get(): readonly string[] {
    return this.lines;
  }

  /** "; last stderr lines:\n  ...", or "; it wrote nothing to stderr" when the plugin wrote nothing. */
  describe(): string {
    if (this.lines.length === 0) return "; it wrote nothing to stderr";
    return `; last stderr lines:\n${this.lines.map((l) => `  ${l}`).join("\n")}`;
  }
}
