// The fast status path's gRPC client: HTTP/2 (RFC 9113) over a Unix socket,
// as much of it as a few small unary calls on one connection need, in place
// of node:http2. Loading node:http2 (and the tls and crypto modules it pulls
// in) and running its session code for the first time costs a fresh process
// about as much as the whole rest of a warm `status` (bench/README.md).
//
// What it does: the client preface and SETTINGS (server push off); the
// server's SETTINGS acknowledged and PINGs answered; requests as one HEADERS
// frame (HPACK literals, hpack.ts) and one DATA frame with END_STREAM; the
// server's HEADERS, CONTINUATION and DATA frames read into each stream's
// answer. It never sends WINDOW_UPDATE: a connection's answers must fit the
// initial 64 KiB flow-control window, and one request must fit one frame.
// Anything else (GOAWAY, RST_STREAM, a frame too large, a pushed stream, a
// malformed header block, a non-gRPC answer) fails the calls it concerns with
// UnaryFailure, and the caller takes the full path, which explains it.
import { connect as netConnect, type Socket } from "node:net";
import { encodeHeaderBlock, HpackDecoder, type HeaderField } from "./hpack.js";

export class UnaryFailure extends Error {
  override name = "UnaryFailure";
}

export interface UnaryOptions {
  /** The call's deadline, sent as grpc-timeout. */
  timeoutMs: number;
  /** Further request headers (custom metadata; lowercase names). */
  metadata?: Record<string, string>;
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const FRAME_HEADER = 9;
/** HTTP/2's default SETTINGS_MAX_FRAME_SIZE, which this client never raises. */
const MAX_FRAME = 16_384;
/** HTTP/2's initial flow-control window: what the server may send before a WINDOW_UPDATE. */
const INITIAL_WINDOW = 65_535;
/** The most one answer may be: status and the like are a few bytes. */
const MAX_RESPONSE_BYTES = 16 * 1024;

/** Frame types (RFC 9113 section 6). */
const Frame = {
  DATA: 0x0,
  HEADERS: 0x1,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  CONTINUATION: 0x9,
} as const;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
const SETTINGS_ENABLE_PUSH = 0x2;

interface Stream {
  path: string;
  /** Header blocks received: the answer's headers, then its trailers. */
  blocks: HeaderField[][];
  data: Buffer[];
  dataBytes: number;
  resolve: (message: Buffer) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** One HTTP/2 connection to a plugin's Unix socket (a path, or a pinned /proc/self/fd/<n> one). */
export class H2Connection {
  private readonly socket: Socket;
  private readonly streams = new Map<number, Stream>();
  private readonly decoder = new HpackDecoder();
  private nextStreamId = 1;
  private pending: Buffer = Buffer.alloc(0);
  private received = 0;
  /** A header block being continued: its stream and fragments so far. */
  private continuing: { id: number; endStream: boolean; fragments: Buffer[] } | undefined;
  private failure: Error | undefined;

  constructor(socketPath: string) {
    this.socket = netConnect(socketPath);
    // Written at once: the socket sends it as soon as it is connected.
    this.socket.write(Buffer.concat([PREFACE, frame(Frame.SETTINGS, 0, 0, setting(SETTINGS_ENABLE_PUSH, 0))]));
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    this.socket.on("error", (err) => this.fail(new UnaryFailure(`the plugin's socket: ${err.message}`)));
    this.socket.on("close", () => this.fail(new UnaryFailure("the plugin closed the connection")));
  }

  /** Calls `path` ("/pkg.Service/Method") with `request` (encoded); resolves the encoded response. */
  call(path: string, request: Uint8Array, options: UnaryOptions): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const body = Buffer.alloc(5 + request.length);
      body.writeUInt32BE(request.length, 1);
      body.set(request, 5);
      if (body.length > MAX_FRAME) return reject(new UnaryFailure(`${path}: a request over ${MAX_FRAME} bytes`));
      const id = this.nextStreamId;
      this.nextStreamId += 2;
      const headers = encodeHeaderBlock([
        [":method", "POST"],
        [":scheme", "http"],
        [":path", path],
        [":authority", "localhost"],
        ["content-type", "application/grpc"],
        ["te", "trailers"],
        ["grpc-timeout", `${Math.max(1, Math.ceil(options.timeoutMs))}m`],
        ...Object.entries(options.metadata ?? {}),
      ]);
      if (headers.length > MAX_FRAME)
        return reject(new UnaryFailure(`${path}: request headers over ${MAX_FRAME} bytes`));
      // The deadline is the plugin's to keep; this bounds the wait if it does not.
      const timer = setTimeout(
        () => this.end(id, new UnaryFailure(`${path}: no answer within ${options.timeoutMs} ms`)),
        options.timeoutMs + 1000,
      );
      this.streams.set(id, { path, blocks: [], data: [], dataBytes: 0, resolve, reject, timer });
      this.socket.write(
        Buffer.concat([frame(Frame.HEADERS, END_HEADERS, id, headers), frame(Frame.DATA, END_STREAM, id, body)]),
      );
    });
  }

  /** Ends the connection at once; calls still open fail. */
  destroy(): void {
    this.fail(new UnaryFailure("the connection was closed"));
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    try {
      while (this.pending.length >= FRAME_HEADER && !this.failure) {
        const length = this.pending.readUIntBE(0, 3);
        if (length > MAX_FRAME) throw new UnaryFailure(`the plugin sent a ${length}-byte frame, over ${MAX_FRAME}`);
        if (this.pending.length < FRAME_HEADER + length) return;
        const type = this.pending[3]!;
        const flags = this.pending[4]!;
        const id = this.pending.readUInt32BE(5) & 0x7fffffff;
        const payload = this.pending.subarray(FRAME_HEADER, FRAME_HEADER + length);
        this.pending = this.pending.subarray(FRAME_HEADER + length);
        this.onFrame(type, flags, id, payload);
      }
    } catch (err) {
      this.fail(err instanceof UnaryFailure ? err : new UnaryFailure(`the plugin's HTTP/2: ${(err as Error).message}`));
      this.socket.destroy();
    }
  }

  private onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.continuing && type !== Frame.CONTINUATION)
      throw new UnaryFailure("the plugin interrupted a header block with another frame");
    switch (type) {
      case Frame.SETTINGS:
        if ((flags & ACK) === 0) this.socket.write(frame(Frame.SETTINGS, ACK, 0, Buffer.alloc(0)));
        return;
      case Frame.PING:
        if ((flags & ACK) === 0) this.socket.write(frame(Frame.PING, ACK, 0, payload));
        return;
      case Frame.GOAWAY:
        throw new UnaryFailure("the plugin ended the connection (GOAWAY)");
      case Frame.PUSH_PROMISE:
        throw new UnaryFailure("the plugin pushed a stream, which this client turned off");
      case Frame.RST_STREAM:
        this.end(id, new UnaryFailure(`${this.streams.get(id)?.path ?? "a call"}: the plugin reset the stream`));
        return;
      case Frame.HEADERS: {
        let fragment = unpad(payload, flags);
        if (flags & PRIORITY) fragment = fragment.subarray(5);
        this.continuing = { id, endStream: (flags & END_STREAM) !== 0, fragments: [fragment] };
        if (flags & END_HEADERS) this.headerBlockDone();
        return;
      }
      case Frame.CONTINUATION:
        if (!this.continuing || this.continuing.id !== id) throw new UnaryFailure("a CONTINUATION out of place");
        this.continuing.fragments.push(payload);
        if (flags & END_HEADERS) this.headerBlockDone();
        return;
      case Frame.DATA: {
        this.received += payload.length;
        if (this.received > INITIAL_WINDOW)
          throw new UnaryFailure(`the plugin's answers passed ${INITIAL_WINDOW} bytes on one connection`);
        const stream = this.streams.get(id);
        // A stream this client never opened, or one it gave up on (answered, timed out): ignored.
        if (!stream) return;
        const data = unpad(payload, flags);
        stream.dataBytes += data.length;
        if (stream.dataBytes > 5 + MAX_RESPONSE_BYTES)
          return this.end(id, new UnaryFailure(`${stream.path}: an answer over ${MAX_RESPONSE_BYTES} bytes`));
        stream.data.push(data);
        if (flags & END_STREAM) this.finish(id);
        return;
      }
      default:
        // PRIORITY, WINDOW_UPDATE and frame types this client does not know: nothing to do.
        return;
    }
  }

  private headerBlockDone(): void {
    const { id, endStream, fragments } = this.continuing!;
    this.continuing = undefined;
    // Decoded even for a stream already given up on: the table must follow the plugin's encoder.
    const fields = this.decoder.decode(fragments.length === 1 ? fragments[0]! : Buffer.concat(fragments));
    const stream = this.streams.get(id);
    if (!stream) return;
    stream.blocks.push(fields);
    if (endStream) this.finish(id);
  }

  /** The stream's answer is complete: its message, or why it is not one. */
  private finish(id: number): void {
    const stream = this.streams.get(id);
    if (!stream) return;
    const [headers = [], trailers = []] = stream.blocks;
    const get = (fields: HeaderField[], name: string) => fields.find(([n]) => n === name)?.[1];
    const status = get(headers, ":status");
    if (status !== "200") return this.end(id, new UnaryFailure(`${stream.path}: HTTP status ${status ?? "missing"}`));
    // A trailers-only answer carries its grpc-status in the headers.
    const grpcStatus = get(trailers, "grpc-status") ?? get(headers, "grpc-status");
    if (grpcStatus !== "0") {
      const message = get(trailers, "grpc-message") ?? get(headers, "grpc-message") ?? "";
      return this.end(id, new UnaryFailure(`${stream.path}: status ${grpcStatus ?? "missing"} ${message}`));
    }
    const body = Buffer.concat(stream.data);
    const length = body.length >= 5 ? body.readUInt32BE(1) : -1;
    if (body.length < 5 || body[0] !== 0 || length !== body.length - 5)
      return this.end(id, new UnaryFailure(`${stream.path}: not one uncompressed gRPC message (${body.length} bytes)`));
    this.end(id, undefined, body.subarray(5));
  }

  private end(id: number, err: Error | undefined, message?: Buffer): void {
    const stream = this.streams.get(id);
    if (!stream) return;
    this.streams.delete(id);
    clearTimeout(stream.timer);
    if (err) stream.reject(err);
    else stream.resolve(message!);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const id of [...this.streams.keys()]) this.end(id, err);
  }
}

function frame(type: number, flags: number, id: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(FRAME_HEADER);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(id, 5);
  return Buffer.concat([header, payload]);
}

function setting(id: number, value: number): Buffer {
  const entry = Buffer.alloc(6);
  entry.writeUInt16BE(id, 0);
  entry.writeUInt32BE(value, 2);
  return entry;
}

/** A DATA or HEADERS payload without its padding. */
function unpad(payload: Buffer, flags: number): Buffer {
  if ((flags & PADDED) === 0) return payload;
  const pad = payload[0];
  if (pad === undefined || pad >= payload.length) throw new UnaryFailure("a frame's padding is longer than the frame");
  return payload.subarray(1, payload.length - pad);
}
