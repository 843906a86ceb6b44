// Keeps the driver's own stdout/stderr output away from the protocol. Capture
// starts in serve(), or earlier for a driver whose modules print at their top
// level: `import "driverplug/plugin/capture-stdout"` first (capture-stdout.ts)
// starts it at once in a process a host launched. Importing driverplug's
// entries never starts it: a host that imports them inside a process another
// go-plugin host launched keeps its stdout. What is written before serve() is
// kept (bounded) and handed to serve()'s logger. From then on, writes through process.stdout and
// process.stderr go to the host's plugin.GRPCStdio stream when one is open
// (through a bounded buffer), and otherwise become log lines the host shows:
// stdout at info, stderr at warn, the text as the message.
// Output written straight to file descriptors 1 and 2 (by child processes,
// for instance) cannot be caught from JavaScript: drivers should give their
// children pipes.
import { DEFAULT_COOKIE, PLUGIN_PROTOCOL_VERSIONS } from "../protocol/env.js";
import { createLogger, type Logger } from "./logger.js";
import { writeRawStderr } from "./process-output.js";

export type StdioChannel = "stdout" | "stderr";

export interface StdioChunk {
  channel: StdioChannel;
  data: Buffer;
}

/** Past this many unread bytes, output is dropped (with one warning). */
export const STDIO_BUFFER_BYTES = 1 << 20;

type WriteFn = typeof process.stdout.write;

export class StdioCapture {
  private queue: StdioChunk[] = [];
  private queuedBytes = 0;
  private dropping = false;
  private wake: (() => void) | undefined;
  private subscribed = false;
  private restore: (() => void) | undefined;
  private log: Logger | undefined;

  constructor(private readonly limit = STDIO_BUFFER_BYTES) {}

  /** From now on output is logged through `log` (or streamed); what came before it is logged first. */
  attach(log: Logger): void {
    this.log = log;
    const early = this.queue.splice(0);
    this.queuedBytes = 0;
    for (const chunk of early) this.logChunk(chunk);
  }

  /** Stops capturing; output kept for a logger that never came goes to the real stderr. */
  uninstall(): void {
    this.restore?.();
    this.restore = undefined;
    if (!this.log) {
      for (const chunk of this.queue.splice(0)) writeRawStderr(chunk.data.toString("utf8"));
      this.queuedBytes = 0;
    }
  }

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
    if (this.log && !this.subscribed) return this.logChunk({ channel, data });
    if (this.queuedBytes + data.length > this.limit) {
      if (!this.dropping) {
        this.dropping = true;
        const why = this.log
          ? "the host is not reading the plugin's stdio stream fast enough"
          : "the driver wrote this much before serve() was called";
        (this.log ?? earlyLog()).warn(`${why}; dropping output`, { limitBytes: this.limit });
      }
      return;
    }
    this.dropping = false;
    this.queue.push({ channel, data });
    this.queuedBytes += data.length;
    this.wake?.();
  }

  private logChunk({ channel, data }: StdioChunk): void {
    const text = data.toString("utf8").replace(/\r?\n$/, "");
    if (channel === "stdout") this.log!.info(text);
    else this.log!.warn(text);
  }
}

const earlyLog = () => createLogger("driverplug.stdio");

/** The process's one capture; serve() attaches its logger. */
export const processStdio = new StdioCapture();

/** A host launched this process: it will serve, and its stdout belongs to the handshake. */
export function launchedAsPlugin(env: NodeJS.ProcessEnv): boolean {
  return env[PLUGIN_PROTOCOL_VERSIONS] !== undefined || env[DEFAULT_COOKIE.key] === DEFAULT_COOKIE.value;
}
