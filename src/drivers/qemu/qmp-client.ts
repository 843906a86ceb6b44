// A small client for QEMU's machine protocol (QMP) on a Unix socket: read the
// greeting, negotiate capabilities, run commands, receive events. QEMU serves
// one client at a time per QMP socket (a second one waits for its greeting),
// so every wait here is bounded and a client is closed as soon as it is done.
import { connect, type Socket } from "node:net";

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export class QmpError extends Error {
  override name = "QmpError";
  constructor(
    message: string,
    /** QMP's error class (e.g. "CommandNotFound"), or "Disconnected", "Timeout", "Protocol". */
    readonly errorClass: string,
  ) {
    super(message);
  }
}

export interface QmpConnectOptions {
  /** Bounds connect + greeting + qmp_capabilities; a busy socket (another client) never greets. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
}

/** The longest line accepted from QEMU: a monitor never sends megabytes; a garbage peer is cut off. */
const MAX_LINE_BYTES = 4 * 1024 * 1024;

export class QmpClient {
  private buffer = "";
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly eventListeners = new Set<(event: QmpEvent) => void>();
  private readonly closeListeners = new Set<(err: Error | undefined) => void>();
  private closedWith: Error | undefined | null = null;
  private onGreeting: ((greeting: Record<string, unknown>) => void) | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly path: string,
  ) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.onData(chunk));
    socket.on("error", (err) => this.finish(new QmpError(`QMP socket ${path}: ${err.message}`, "Disconnected")));
    socket.on("close", () => this.finish(undefined));
  }

  /** Connects, reads the greeting and enters command mode. */
  static async connect(path: string, options: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = options.timeoutMs ?? 5_000;
    const socket = connect(path);
    const client = new QmpClient(socket, path);
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => client.close();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await Promise.race([
        (async () => {
          await new Promise<void>((resolve, reject) => {
            client.onGreeting = () => resolve();
            client.closeListeners.add((err) =>
              reject(err ?? new QmpError(`QMP socket ${path} closed before its greeting`, "Disconnected")),
            );
          });
          await client.execute("qmp_capabilities");
        })(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new QmpError(
                  `QMP socket ${path} did not greet within ${timeoutMs} ms (QEMU serves one QMP client at a time: another one may be connected)`,
                  "Timeout",
                ),
              ),
            timeoutMs,
          );
        }),
      ]);
    } catch (err) {
      client.close();
      if (options.signal?.aborted) throw options.signal.reason;
      throw err;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    }
    client.closeListeners.clear();
    return client;
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  /** Runs a command; resolves with its "return" value, rejects with QMP's "error" as a QmpError. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
    if (this.closedWith !== null) {
      return Promise.reject(
        this.closedWith ?? new QmpError(`QMP socket ${this.path} is closed; cannot run ${command}`, "Disconnected"),
      );
    }
    const id = `dp-${this.nextId++}`;
    return new Promise<T>((resolve, reject) => {
      const timer =
        timeoutMs > 0 && Number.isFinite(timeoutMs)
          ? setTimeout(() => {
              this.pending.delete(id);
              reject(new QmpError(`QMP command ${command} got no answer within ${timeoutMs} ms`, "Timeout"));
            }, timeoutMs)
          : undefined;
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.socket.write(
        `${JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id })}\n`,
      );
    });
  }

  /** Calls `listener` for every asynchronous event; returns the function that stops it. */
  onEvent(listener: (event: QmpEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Resolves when the connection ends (QEMU exited, or close()): undefined for a clean end. */
  whenClosed(): Promise<Error | undefined> {
    if (this.closedWith !== null) return Promise.resolve(this.closedWith);
    return new Promise((resolve) => this.closeListeners.add(resolve));
  }

  close(): void {
    this.socket.destroy();
    this.finish(undefined);
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    if (this.buffer.length > MAX_LINE_BYTES && !this.buffer.includes("\n")) {
      this.protocolError(`QMP socket ${this.path} sent a line over ${MAX_LINE_BYTES} bytes`);
      return;
    }
    for (let nl = this.buffer.indexOf("\n"); nl >= 0; nl = this.buffer.indexOf("\n")) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line !== "") this.onLine(line);
      if (this.closedWith !== null) return;
    }
  }

  private onLine(line: string): void {
    let message: Record<string, unknown>;
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not an object");
      message = value as Record<string, unknown>;
    } catch {
      this.protocolError(`QMP socket ${this.path} sent something that is not a JSON object: ${line.slice(0, 80)}`);
      return;
    }
    if ("QMP" in message) {
      const greet = this.onGreeting;
      this.onGreeting = undefined;
      greet?.(message);
      return;
    }
    if (typeof message.event === "string") {
      for (const listener of [...this.eventListeners]) listener(message as unknown as QmpEvent);
      return;
    }
    // Answers carry our id; QEMU answers in order, so an answer without one is the oldest pending.
    const id = typeof message.id === "string" ? message.id : this.pending.keys().next().value;
    const waiter = id === undefined ? undefined : this.pending.get(id);
    if (!waiter) return;
    this.pending.delete(id!);
    clearTimeout(waiter.timer);
    if ("return" in message) {
      waiter.resolve(message.return);
    } else if (typeof message.error === "object" && message.error !== null) {
      const error = message.error as { class?: unknown; desc?: unknown };
      waiter.reject(new QmpError(String(error.desc ?? "QMP error"), String(error.class ?? "GenericError")));
    } else {
      waiter.reject(new QmpError(`QMP answer with neither return nor error: ${line.slice(0, 80)}`, "Protocol"));
    }
  }

  private protocolError(message: string): void {
    this.finish(new QmpError(message, "Protocol"));
    this.socket.destroy();
  }

  private finish(err: Error | undefined): void {
    if (this.closedWith !== null) return;
    this.closedWith = err;
    const reason = err ?? new QmpError(`QMP socket ${this.path} closed`, "Disconnected");
    for (const [id, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject(reason);
      this.pending.delete(id);
    }
    for (const listener of [...this.closeListeners]) listener(err);
    this.closeListeners.clear();
    this.eventListeners.clear();
  }
}

/** Connects, runs one command, closes: for callers that must not hold the one-client socket. */
export async function qmpOnce<T = unknown>(
  path: string,
  command: string,
  args?: Record<string, unknown>,
  options: QmpConnectOptions = {},
): Promise<T> {
  const client = await QmpClient.connect(path, options);
  try {
    return await client.execute<T>(command, args, options.timeoutMs ?? 5_000);
  } finally {
    client.close();
  }
}
