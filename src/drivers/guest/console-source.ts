// Where a booting guest's console text comes from, as lines: a log file the
// hypervisor writes (the qemu driver's serial.log) or a stream a backend
// feeds (libvirt's console over its connection). Guest text is untrusted:
// cleanConsoleLine makes a line printable and bounded before anyone shows it.
import { promises as fs } from "node:fs";
import { READY_LINE } from "./readiness.js";

export interface ConsoleSource {
  /** The complete lines the console gained since the last look. */
  newLines(): Promise<string[]>;
  /** True once the readiness line went by on the console. */
  readonly sawReady: boolean;
  /** The last few cleaned lines, for error messages; "(nothing)" when there are none. */
  tail(): Promise<string>;
}

/** Guest text is untrusted: printable ASCII only, bounded. */
export function cleanConsoleLine(line: string): string {
  return line
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")
    .replace(/[^\x20-\x7e]/g, "")
    .trim()
    .slice(0, 120);
}

/** Reads what a console log file gained since the last look. */
export class FileConsole implements ConsoleSource {
  private offset = 0;
  private partial = "";
  sawReady = false;

  constructor(private readonly path: string) {}

  async newLines(): Promise<string[]> {
    let handle;
    try {
      handle = await fs.open(this.path, "r");
    } catch {
      return [];
    }
    try {
      const { size } = await handle.stat();
      if (size <= this.offset) return [];
      const length = Math.min(size - this.offset, 1 << 20);
      const buf = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buf, 0, length, this.offset);
      this.offset += bytesRead;
      const text = this.partial + buf.subarray(0, bytesRead).toString("latin1");
      const lines = text.split(/\r?\n/);
      this.partial = (lines.pop() ?? "").slice(-4096);
      if (text.includes(READY_LINE)) this.sawReady = true;
      return lines;
    } finally {
      await handle.close();
    }
  }

  async tail(): Promise<string> {
    const text = await fs.readFile(this.path, "latin1").catch(() => "");
    const lines = text
      .split(/\r?\n/)
      .map(cleanConsoleLine)
      .filter((l) => l !== "")
      .slice(-5);
    return lines.length === 0 ? "(nothing)" : lines.join(" | ");
  }
}
