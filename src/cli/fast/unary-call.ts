// One gRPC unary call over node:http2, for the fast `status` path: the
// request framed as gRPC frames it (a 5-byte prefix: not compressed, the
// length), the answer's status from its trailers (or headers, for a
// trailers-only answer), and the response message from the one data frame
// expected. Anything unexpected is an error; the caller then takes the full
// path, which explains it.
import { connect, constants, type ClientHttp2Session } from "node:http2";
import { connect as netConnect } from "node:net";

/** The most a fast-path answer may be: status and the like are a few bytes. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export class UnaryFailure extends Error {
  override name = "UnaryFailure";
}

/** An HTTP/2 session on a Unix socket (a path, or a /proc/self/fd/<n> pinned one). */
export function connectUnix(socketPath: string): ClientHttp2Session {
  const session = connect("http://localhost", { createConnection: () => netConnect(socketPath) });
  // Errors surface on the calls; the session's own would otherwise be unhandled.
  session.on("error", () => undefined);
  return session;
}

export interface UnaryOptions {
  /** The call's deadline, sent as grpc-timeout. */
  timeoutMs: number;
  /** Further request headers (custom metadata). */
  metadata?: Record<string, string>;
}

/** Calls `path` ("/pkg.Service/Method") with `request` (encoded); resolves the encoded response. */
export function unaryCall(
  session: ClientHttp2Session,
  path: string,
  request: Uint8Array,
  options: UnaryOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: path,
      [constants.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
      te: "trailers",
      "grpc-timeout": `${Math.max(1, Math.ceil(options.timeoutMs))}m`,
      ...options.metadata,
    });
    // The deadline is the plugin's to keep; this bounds the wait if it does not.
    const timer = setTimeout(
      () => fail(new UnaryFailure(`${path}: no answer within ${options.timeoutMs} ms`)),
      options.timeoutMs + 1000,
    );
    const chunks: Buffer[] = [];
    let size = 0;
    let grpcStatus: string | undefined;
    let grpcMessage = "";
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.close(constants.NGHTTP2_CANCEL);
      reject(err);
    };
    const readStatus = (headers: Record<string, unknown>) => {
      if (headers["grpc-status"] !== undefined) grpcStatus = String(headers["grpc-status"]);
      if (headers["grpc-message"] !== undefined) grpcMessage = String(headers["grpc-message"]);
    };
    stream.on("response", (headers) => {
      if (Number(headers[constants.HTTP2_HEADER_STATUS]) !== 200)
        fail(new UnaryFailure(`${path}: HTTP status ${String(headers[constants.HTTP2_HEADER_STATUS])}`));
      else readStatus(headers);
    });
    stream.on("trailers", readStatus);
    stream.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) fail(new UnaryFailure(`${path}: an answer over ${MAX_RESPONSE_BYTES} bytes`));
      else chunks.push(chunk);
    });
    stream.on("error", (err) => fail(err));
    stream.on("close", () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (grpcStatus !== "0") {
        reject(new UnaryFailure(`${path}: status ${grpcStatus ?? "missing"} ${grpcMessage}`));
        return;
      }
      const body = Buffer.concat(chunks);
      const length = body.length >= 5 ? body.readUInt32BE(1) : -1;
      if (body.length < 5 || body[0] !== 0 || length !== body.length - 5) {
        reject(new UnaryFailure(`${path}: not one uncompressed gRPC message (${body.length} bytes)`));
        return;
      }
      resolve(body.subarray(5));
    });
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(request.length, 1);
    stream.end(Buffer.concat([prefix, request]));
  });
}
