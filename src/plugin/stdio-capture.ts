// Keeps the driver's own stdout/stderr output away from the protocol: once
// installed, writes through process.stdout and process.stderr are forwarded
// to the host's plugin.GRPCStdio stream when one is open (through a bounded
// buffer), and otherwise logged as debug lines on the real stderr.
// Output written straight to file descriptors 1 and 2 (by child processes,
// for instance) cannot be caught from JavaScript: drivers should give their
// children pipes.
import type { Logger } from "./logger.js";

export type StdioChannel = "stdout" | "stderr";

export interface StdioChunk {
  channel: StdioChannel;
  data: Buffer;
}

/** Past this many unread bytes, output for the stream is dropped (and counted). */
export const STDIO_BUFFER_BYTES = 1 << 20;

type WriteFn = typeof process.stdout.write;

export class StdioCapture {
  private queue: StdioChunk[] = [];
  private queuedBytes = 0;
  private droppedBytes = 0;
  private wake: (() => void) | undefined;
  private subscribed = false;
  private restore: (() => void) | undefined;

  constructor(
    private readonly log: Logger,
    private readonly limit = STDIO_BUFFER_BYTES,
  ) {}

  install(): void {
    if (this.restore) return;
    const out = process.stdout.write;
    const err = process.stderr.write;
    process.stdout.write = this.writer("stdout");
    process.stderr.write = this.writer("stderr");
    this.restore = () => {
      process.stdout.write = out;
      process.stderr.write = err;
    };
  }

  uninstall(): void {
    this.restore?.();
    this.restore = undefined;
  }

  /** The chunks written from now on, until the signal aborts; one reader at a time. */
  async *subscribe(signal: AbortSignal): AsyncGenerator<StdioChunk> {
    if (this.subscribed)
      throw new Error("a host is already reading this plugin's stdio stream; only one reader is supported");
    this.subscribed = true;
    try {
      while (!signal.aborted) {
        const chunk = this.queue.shift();
        if (chunk) {
          this.queuedBytes -= chunk.data.length;
          yield chunk;
          continue;
        }
        await new Promise<void>((resolve) => {
          const done = () => {
            signal.removeEventListener("abort", done);
            this.wake = undefined;
            resolve();
          };
          this.wake = done;
          signal.addEventListener("abort", done, { once: true });
        });
      }
    } finally {
      this.subscribed = false;
      this.queue = [];
      this.queuedBytes = 0;
    }
  }

  private writer(channel: StdioChannel): WriteFn {
    return ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
      const cb = typeof encoding === "function" ? encoding : callback;
      const enc = typeof encoding === "string" ? (encoding as BufferEncoding) : undefined;
      const data = typeof chunk === "string" ? Buffer.from(chunk, enc) : Buffer.from(chunk as Uint8Array);
      this.accept(channel, data);
      if (typeof cb === "function") queueMicrotask(() => (cb as (err?: Error | null) => void)(null));
      return true;
    }) as WriteFn;
  }

  private accept(channel: StdioChannel, data: Buffer): void {
    if (!this.subscribed) {
      this.log.debug(`driver wrote to ${channel}`, { channel, output: data.toString("utf8").replace(/\n$/, "") });
      return;
    }
    if (this.queuedBytes + data.length > this.limit) {
      if (this.droppedBytes === 0)
        this.log.warn("the host is not reading the plugin's stdio stream fast enough; dropping output", {
          limitBytes: this.limit,
        });
      this.droppedBytes += data.length;
      return;
    }
    this.queue.push({ channel, data });
    this.queuedBytes += data.length;
    this.wake?.();
  }
}
