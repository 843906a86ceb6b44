// A connection to one libvirt daemon over a Transport: calls from the typed
// procedure table (many in flight, matched by serial), the daemon's
// asynchronous lifecycle events as async iterables, data streams (volume
// uploads; console and channel output), and keepalive answers. When the
// transport ends, every pending call, stream and event iterator fails with
// one ConnectionClosedError that says why; the owner opens a new connection.
import { AsyncQueue } from "./async-queue.js";
import { type LibvirtUri, parseLibvirtUri } from "./connection-uri.js";
import { ConnectionClosedError, LibvirtError } from "./libvirt-error.js";
import { AuthType, DOMAIN_EVENT_ID_LIFECYCLE, events, proc, type Procedure } from "./procedures.js";
import {
  encodeRecord,
  type Header,
  MessageStatus,
  MessageType,
  RecordSplitter,
  type RpcRecord,
  STREAM_CHUNK_MAX,
} from "./record.js";
import { type DomainEventLifecycle, PROGRAM_KEEPALIVE, PROGRAM_VERSION, remoteError } from "./remote-types.js";
import { openSshTransport } from "./ssh-transport.js";
import type { Transport } from "./transport.js";
import { openUnixTransport } from "./unix-transport.js";
import { decode, encode } from "./xdr.js";

const KEEPALIVE_PING = 1;
const KEEPALIVE_PONG = 2;
/** Lifecycle events a subscriber may fall behind by before the oldest are dropped. */
const EVENT_QUEUE_LIMIT = 1024;
/** Stream data chunks held for a reader that is behind (each at most 256 KiB). */
const STREAM_QUEUE_LIMIT = 64;
const CLOSE_CALL_MS = 2000;

export interface OpenOptions {
  /** For qemu+ssh URIs: the known_hosts file that pins the host's key. */
  knownHostsFile?: string;
  /** Environment for the session daemon and ssh (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Start a session daemon when none answers (default true, as libvirt's client). */
  autostart?: boolean;
  signal?: AbortSignal;
}

export interface CallOptions {
  signal?: AbortSignal;
}

interface PendingCall {
  procedure: Procedure<unknown, unknown>;
  resolve: (body: Buffer) => void;
  reject: (error: Error) => void;
}

/** A stream's receiving end: data records, then the end (OK) or an error. */
interface StreamSink {
  data(chunk: Buffer): void;
  end(): void;
  fail(error: Error): void;
}

export interface LifecycleEvent {
  domain: string;
  /** virDomainEventType: 0 defined, 1 undefined, 2 started, 3 suspended, 4 resumed, 5 stopped, 6 shutdown, 7 pmsuspended, 8 crashed. */
  event: number;
  detail: number;
}

/** Console or channel output: an async iterable of chunks; close() ends it from our side. */
export interface DownloadStream extends AsyncIterable<Buffer> {
  close(): void;
  /** Chunks dropped because the reader fell behind. */
  readonly dropped: number;
}

export class LibvirtConnection {
  private nextSerial = 1;
  private readonly pending = new Map<number, PendingCall>();
  private readonly streams = new Map<number, StreamSink>();
  private readonly lifecycleQueues = new Set<AsyncQueue<LifecycleEvent>>();
  private lifecycleCallback: Promise<number> | undefined;
  private closedError: ConnectionClosedError | undefined;
  private closing = false;
  readonly closed: Promise<ConnectionClosedError>;

  /** Opens a transport for `uri` and performs libvirt's handshake (auth, CONNECT_OPEN). */
  static async open(uri: string | LibvirtUri, options: OpenOptions = {}): Promise<LibvirtConnection> {
    const parsed = typeof uri === "string" ? parseLibvirtUri(uri) : uri;
    let transport: Transport;
    if (parsed.kind === "local") {
      transport = await openUnixTransport(parsed.mode, {
        ...(options.env ? { env: options.env } : {}),
        ...(options.autostart !== undefined ? { autostart: options.autostart } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } else {
      if (!options.knownHostsFile)
        throw new Error(`a qemu+ssh connection needs a known_hosts file to pin ${parsed.host}'s key`);
      transport = openSshTransport(parsed, {
        knownHostsFile: options.knownHostsFile,
        ...(options.env ? { env: options.env } : {}),
      });
    }
    const connection = new LibvirtConnection(transport, parsed.kind === "local" ? parsed.text : parsed.remoteUri);
    try {
      await connection.handshake(options.signal);
    } catch (err) {
      connection.transport.close();
      const closed = connection.closedError ?? (await Promise.race([connection.closed, Promise.resolve(undefined)]));
      throw closed ?? err;
    }
    return connection;
  }

  constructor(
    readonly transport: Transport,
    /** The URI CONNECT_OPEN names on the daemon's side. */
    readonly daemonUri: string,
  ) {
    const splitter = new RecordSplitter((record) => this.onRecord(record));
    let resolveClosed!: (e: ConnectionClosedError) => void;
    this.closed = new Promise((resolve) => (resolveClosed = resolve));
    const stream = transport.stream;
    stream.on("data", (chunk: Buffer) => {
      try {
        splitter.push(chunk);
      } catch (err) {
        this.protocolError = err as Error;
        transport.close();
      }
    });
    let ended = false;
    const onEnd = () => {
      if (ended) return;
      ended = true;
      void transport.endReason().then((reason) => {
        const why = this.protocolError
          ? this.protocolError.message
          : this.closing
            ? "the connection was closed"
            : reason;
        const error = new ConnectionClosedError(`lost the connection to ${transport.label}: ${why}`);
        this.shutDown(error);
        resolveClosed(error);
      });
    };
    stream.on("close", onEnd);
    stream.on("end", () => stream.destroy());
    stream.on("error", () => undefined);
  }

  private protocolError: Error | undefined;

  get isClosed(): boolean {
    return this.closedError !== undefined;
  }

  private async handshake(signal?: AbortSignal): Promise<void> {
    const { types } = await this.call(proc.authList, undefined, signal ? { signal } : {});
    if (types.length > 0 && !types.includes(AuthType.NONE)) {
      if (!types.includes(AuthType.POLKIT)) {
        throw new Error(
          `${this.transport.label} requires ${types.includes(AuthType.SASL) ? "SASL" : `auth type ${types.join(",")}`} authentication, ` +
            "which this driver does not speak: use a Unix socket with polkit or none (the default for qemu:///session)",
        );
      }
      await this.call(proc.authPolkit, undefined, signal ? { signal } : {}).catch((err: unknown) => {
        if (!(err instanceof LibvirtError)) throw err;
        // Not ours to fix, but the user should learn what was asked and what else works.
        throw new LibvirtError(err.procedure, {
          code: err.code,
          domain: err.domain,
          message:
            `${err.message} (${this.transport.label} asks polkit, over D-Bus, whether this user may manage ` +
            "domains; root is never asked. Use qemu:///session (the default) or run as root: see docs/libvirt.md)",
        });
      });
    }
    await this.call(proc.connectOpen, { name: this.daemonUri, flags: 0 }, signal ? { signal } : {});
  }

  /** One call: resolves with the decoded reply, rejects with LibvirtError or ConnectionClosedError. */
  call<A, R>(procedure: Procedure<A, R>, args: A, options: CallOptions = {}): Promise<R> {
    return this.send(procedure as Procedure<unknown, unknown>, args, undefined, options).then((body) =>
      decode(procedure.ret, body),
    );
  }

  private send(
    procedure: Procedure<unknown, unknown>,
    args: unknown,
    sink: StreamSink | undefined,
    options: CallOptions,
  ): Promise<Buffer> {
    if (this.closedError) return Promise.reject(this.closedError);
    options.signal?.throwIfAborted();
    const serial = this.nextSerial;
    this.nextSerial = this.nextSerial >= 0x7fffffff ? 1 : this.nextSerial + 1;
    const body = encode(procedure.args, args);
    return new Promise<Buffer>((resolve, reject) => {
      const onAbort = () => {
        // libvirt cannot cancel a call: the reply, when it comes, is dropped.
        this.pending.set(serial, { procedure, resolve: () => undefined, reject: () => undefined });
        this.streams.delete(serial);
        reject(options.signal!.reason);
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });
      const settle = () => options.signal?.removeEventListener("abort", onAbort);
      this.pending.set(serial, {
        procedure,
        resolve: (b) => {
          settle();
          resolve(b);
        },
        reject: (e) => {
          settle();
          reject(e);
        },
      });
      if (sink) this.streams.set(serial, sink);
      this.write(
        {
          program: procedure.program,
          version: PROGRAM_VERSION,
          procedure: procedure.number,
          type: MessageType.CALL,
          serial,
          status: MessageStatus.OK,
        },
        body,
      );
    });
  }

  private write(header: Header, body?: Buffer): boolean {
    return this.transport.stream.write(encodeRecord(header, body));
  }

  private onRecord({ header, body }: RpcRecord): void {
    if (header.program === PROGRAM_KEEPALIVE) {
      if (header.procedure === KEEPALIVE_PING) {
        this.write({ ...header, procedure: KEEPALIVE_PONG, type: MessageType.MESSAGE, status: MessageStatus.OK });
      }
      return;
    }
    switch (header.type) {
      case MessageType.REPLY:
      case MessageType.REPLY_WITH_FDS: {
        const call = this.pending.get(header.serial);
        if (!call) return;
        this.pending.delete(header.serial);
        if (header.status === MessageStatus.OK) call.resolve(body);
        else {
          this.streams.delete(header.serial);
          call.reject(this.errorFrom(call.procedure.name, body));
        }
        return;
      }
      case MessageType.STREAM: {
        const sink = this.streams.get(header.serial);
        if (!sink) return;
        if (header.status === MessageStatus.CONTINUE) {
          // libvirt ends some streams with an empty CONTINUE record instead of OK.
          if (body.length === 0) {
            this.streams.delete(header.serial);
            sink.end();
          } else sink.data(body);
        } else if (header.status === MessageStatus.OK) {
          this.streams.delete(header.serial);
          sink.end();
        } else {
          this.streams.delete(header.serial);
          sink.fail(this.errorFrom("stream", body));
        }
        return;
      }
      case MessageType.MESSAGE:
        this.onMessage(header, body);
        return;
      default:
        return;
    }
  }

  private errorFrom(procedure: string, body: Buffer): Error {
    try {
      return new LibvirtError(procedure, decode(remoteError, body));
    } catch (err) {
      return new LibvirtError(procedure, {
        code: 1,
        domain: 0,
        message: `an error record that does not decode (${(err as Error).message})`,
      });
    }
  }

  private onMessage(header: Header, body: Buffer): void {
    const lifecycle = events.domainEventCallbackLifecycle;
    if (header.program !== lifecycle.program || header.procedure !== lifecycle.number) return;
    let msg: { callbackID: number; msg: DomainEventLifecycle };
    try {
      msg = decode(lifecycle.body, body);
    } catch {
      return; // A malformed event is dropped; the next GetState tells the truth anyway.
    }
    const event: LifecycleEvent = { domain: msg.msg.dom.name, event: msg.msg.event, detail: msg.msg.detail };
    for (const queue of this.lifecycleQueues) queue.push(event);
  }

  /**
   * Domain lifecycle events (every domain of this connection), registered with
   * the daemon before this resolves, so nothing that happens afterwards is
   * missed. The iterator fails with ConnectionClosedError when the connection
   * ends; `return()` (leaving a for-await) unsubscribes.
   */
  async lifecycleEvents(options: CallOptions = {}): Promise<AsyncIterableIterator<LifecycleEvent>> {
    if (this.closedError) throw this.closedError;
    const queue: AsyncQueue<LifecycleEvent> = new AsyncQueue(EVENT_QUEUE_LIMIT, () =>
      this.lifecycleQueues.delete(queue),
    );
    this.lifecycleQueues.add(queue);
    this.lifecycleCallback ??= this.call(proc.connectDomainEventCallbackRegisterAny, {
      eventID: DOMAIN_EVENT_ID_LIFECYCLE,
      dom: undefined,
    }).then((r) => r.callbackID);
    try {
      await (options.signal ? Promise.race([this.lifecycleCallback, aborted(options.signal)]) : this.lifecycleCallback);
    } catch (err) {
      this.lifecycleQueues.delete(queue);
      this.lifecycleCallback = undefined;
      throw err;
    }
    return queue;
  }

  /** Opens a download stream (console, channel): the call, then its data as an async iterable. */
  async openDownload<A, R>(procedure: Procedure<A, R>, args: A, options: CallOptions = {}): Promise<DownloadStream> {
    if (procedure.stream !== "download") throw new TypeError(`${procedure.name} does not open a download stream`);
    let serial = 0;
    const queue = new AsyncQueue<Buffer>(STREAM_QUEUE_LIMIT, () => {
      if (this.streams.delete(serial) && !this.closedError) this.abortStream(procedure, serial);
    });
    const sink: StreamSink = { data: (c) => queue.push(c), end: () => queue.end(), fail: (e) => queue.fail(e) };
    serial = this.nextSerial;
    await this.send(procedure as Procedure<unknown, unknown>, args, sink, options);
    return {
      [Symbol.asyncIterator]: () => queue,
      close: () => void queue.return(),
      get dropped() {
        return queue.dropped;
      },
    };
  }

  private abortStream(procedure: Procedure<unknown, unknown>, serial: number): void {
    this.write({
      program: procedure.program,
      version: PROGRAM_VERSION,
      procedure: procedure.number,
      type: MessageType.STREAM,
      serial,
      status: MessageStatus.ERROR,
    });
  }

  /**
   * An upload (STORAGE_VOL_UPLOAD): the call, then `data` in records of at
   * most 256 KiB with the transport's back-pressure, then the end; resolves
   * once the daemon confirms it has everything.
   */
  async upload<A, R>(
    procedure: Procedure<A, R>,
    args: A,
    data: AsyncIterable<Uint8Array>,
    options: CallOptions = {},
  ): Promise<void> {
    if (procedure.stream !== "upload") throw new TypeError(`${procedure.name} does not open an upload stream`);
    let failed: Error | undefined;
    let confirm!: { resolve: () => void; reject: (e: Error) => void };
    const confirmed = new Promise<void>((resolve, reject) => (confirm = { resolve, reject }));
    confirmed.catch(() => undefined);
    const sink: StreamSink = {
      data: () => undefined,
      end: () => confirm.resolve(),
      fail: (e) => {
        failed = e;
        confirm.reject(e);
      },
    };
    const serial = this.nextSerial;
    await this.send(procedure as Procedure<unknown, unknown>, args, sink, options);
    const header = {
      program: procedure.program,
      version: PROGRAM_VERSION,
      procedure: procedure.number,
      type: MessageType.STREAM,
      serial,
    };
    const stream = this.transport.stream;
    try {
      for await (const chunk of data) {
        for (let at = 0; at < chunk.length; at += STREAM_CHUNK_MAX) {
          if (failed) throw failed;
          if (this.closedError) throw this.closedError;
          options.signal?.throwIfAborted();
          const piece = Buffer.from(chunk.buffer, chunk.byteOffset + at, Math.min(STREAM_CHUNK_MAX, chunk.length - at));
          if (!this.write({ ...header, status: MessageStatus.CONTINUE }, piece)) {
            await new Promise<void>((resolve) => {
              const done = () => {
                stream.off("drain", done);
                stream.off("close", done);
                resolve();
              };
              stream.on("drain", done);
              stream.on("close", done);
            });
          }
        }
      }
    } catch (err) {
      if (this.streams.delete(serial) && !this.closedError) this.abortStream(procedure, serial);
      throw err;
    }
    this.write({ ...header, status: MessageStatus.OK });
    await Promise.race([confirmed, this.closed.then((e) => Promise.reject(e))]);
  }

  /** CONNECT_CLOSE (briefly), then the transport; resolves once it is down. */
  async close(): Promise<void> {
    if (this.closedError) return;
    this.closing = true;
    try {
      await this.call(proc.connectClose, undefined, { signal: AbortSignal.timeout(CLOSE_CALL_MS) });
    } catch {
      // Closing anyway.
    }
    this.transport.close();
    await this.closed;
  }

  private shutDown(error: ConnectionClosedError): void {
    this.closedError = error;
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
    for (const sink of this.streams.values()) sink.fail(error);
    this.streams.clear();
    for (const queue of this.lifecycleQueues) queue.fail(error);
    this.lifecycleQueues.clear();
  }
}

function aborted(signal: AbortSignal): Promise<never> {
  const p = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  // It loses the race in the usual case and rejects later, when the caller's signal ends: that is no error.
  p.catch(() => undefined);
  return p;
}
