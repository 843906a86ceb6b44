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

/** How much console text a StreamConsole holds for a reader that is behind; older lines are dropped. */
const STREAM_BACKLOG_LINES = 2000;
const STREAM_TAIL_LINES = 5;

/**
 * Console lines from a stream of chunks (libvirt's console over its
 * connection, so it works when the hypervisor is another host). The stream is
 * read as it comes; newLines() hands out what arrived since the last look,
 * bounded, and close() ends the stream.
 */
export class StreamConsole implements ConsoleSource {
  private pending: string[] = [];
  private partial = "";
  private last: string[] = [];
  sawReady = false;
  private ended: unknown;

  constructor(
    chunks: AsyncIterable<Buffer>,
    private readonly onClose: () => void = () => undefined,
  ) {
    void this.follow(chunks);
  }

  private async follow(chunks: AsyncIterable<Buffer>): Promise<void> {
    try {
      for await (const chunk of chunks) this.take(chunk.toString("latin1"));
    } catch (err) {
      this.ended = err;
    }
  }

  private take(text: string): void {
    const joined = this.partial + text;
    if (joined.includes(READY_LINE)) this.sawReady = true;
    const lines = joined.split(/\r?\n/);
    this.partial = (lines.pop() ?? "").slice(-4096);
    for (const line of lines) {
      this.pending.push(line);
      const clean = cleanConsoleLine(line);
      if (clean !== "") this.last = [...this.last.slice(-(STREAM_TAIL_LINES - 1)), clean];
    }
    if (this.pending.length > STREAM_BACKLOG_LINES) this.pending.splice(0, this.pending.length - STREAM_BACKLOG_LINES);
  }

  async newLines(): Promise<string[]> {
    return this.pending.splice(0);
  }

  /** Why the stream ended early (the connection dropped), if it did. */
  get failure(): unknown {
    return this.ended;
  }

  async tail(): Promise<string> {
    return this.last.length === 0 ? "(nothing)" : this.last.join(" | ");
  }

  close(): void {
    this.onClose();
  }
}
