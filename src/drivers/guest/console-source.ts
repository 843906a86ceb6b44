// Where a booting guest's console text comes from, as lines: chunks a backend
// drains (the qemu driver from QEMU's ring buffer; a stream over a backend's
// connection) through ConsoleLines, or a log file someone else writes and
// caps (FileConsole). Everything is bounded: a look takes at most 1 MiB, a
// line at most 4 KiB, a failure's message only the tail. Guest text is
// untrusted: cleanConsoleLine makes a line printable and short before anyone
// shows it.
import { constants, promises as fs } from "node:fs";
import { readTail } from "./console-log.js";
import { READY_LINE } from "./readiness.js";

export interface ConsoleSource {
  /** The complete lines the console gained since the last look (bounded). */
  newLines(): Promise<string[]>;
  /** True once the readiness line went by on the console. */
  readonly sawReady: boolean;
  /** The last few cleaned lines, for error messages; "(nothing)" when there are none. */
  tail(): Promise<string>;
  /** Ends the watch (a drained source lets go of its connection). */
  close?(): void;
}

/** Guest text is untrusted: printable ASCII only, bounded. */
export function cleanConsoleLine(line: string): string {
  return line
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")
    .replace(/[^\x20-\x7e]/g, "")
    .trim()
    .slice(0, 120);
}

/** The longest partial line kept between chunks. */
const MAX_LINE_CHARS = 4096;
/** The most bytes one look at a console takes. */
export const MAX_LOOK_BYTES = 1024 * 1024;

/** Splits console chunks into lines and notices the readiness line, even across chunks. */
export class ConsoleLines {
  sawReady = false;
  private partial = "";

  push(text: string): string[] {
    const joined = this.partial + text;
    if (joined.includes(READY_LINE)) this.sawReady = true;
    const lines = joined.split(/\r?\n/);
    this.partial = (lines.pop() ?? "").slice(-MAX_LINE_CHARS);
    return lines;
  }
}

/** The last `count` non-empty cleaned lines of some console text. */
export function tailLines(text: string, count = 5): string {
  const lines = text
    .split(/\r?\n/)
    .map(cleanConsoleLine)
    .filter((l) => l !== "")
    .slice(-count);
  return lines.length === 0 ? "(nothing)" : lines.join(" | ");
}

/** Reads what a console log file gained since the last look; follows it when it is rotated or truncated. */
export class FileConsole implements ConsoleSource {
  private offset = 0;
  private ino = -1;
  private readonly lines = new ConsoleLines();

  constructor(private readonly path: string) {}

  get sawReady(): boolean {
    return this.lines.sawReady;
  }

  async newLines(): Promise<string[]> {
    let handle;
    try {
      handle = await fs.open(this.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      return [];
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) return [];
      // A new file (rotated) or a shorter one (truncated): start again from its beginning.
      if (st.ino !== this.ino || st.size < this.offset) {
        this.ino = st.ino;
        this.offset = 0;
      }
      if (st.size <= this.offset) return [];
      // A guest that wrote more than a look takes: skip to the newest MAX_LOOK_BYTES.
      if (st.size - this.offset > MAX_LOOK_BYTES) this.offset = st.size - MAX_LOOK_BYTES;
      const buf = Buffer.alloc(st.size - this.offset);
      const { bytesRead } = await handle.read(buf, 0, buf.length, this.offset);
      this.offset += bytesRead;
      return this.lines.push(buf.subarray(0, bytesRead).toString("latin1"));
    } finally {
      await handle.close();
    }
  }

  async tail(): Promise<string> {
    return tailLines(await readTail(this.path));
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
