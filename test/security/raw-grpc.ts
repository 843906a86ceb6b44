// A gRPC call made by hand over HTTP/2 on a Unix socket, so tests can send
// what no generated client would: random bodies, broken length prefixes,
// flags and content types. Returns the status the server gave, wherever it
// put it (trailers, or headers for a trailers-only answer).
import { connect, constants, type ClientHttp2Session } from "node:http2";
import { connect as netConnect } from "node:net";

export interface RawAnswer {
  httpStatus: number;
  /** undefined when the server sent no grpc-status at all. */
  grpcStatus: number | undefined;
  grpcMessage: string;
  /** Bytes of response messages received (streams may send some before failing). */
  bodyBytes: number;
  /** The HTTP/2 RST_STREAM code when the server reset the stream instead of answering (0: none). */
  rstCode: number;
}

export function openSession(socketPath: string): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect("http://localhost", { createConnection: () => netConnect(socketPath) });
    session.once("connect", () => resolve(session));
    session.once("error", reject);
    // Later session errors (a GOAWAY, a reset connection) show up as calls closing without an answer.
    session.on("error", () => {});
  });
}

/** The 5-byte gRPC message prefix: compressed flag, then the length big-endian. */
export function frame(payload: Uint8Array, flag = 0, declaredLength = payload.length): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(declaredLength >>> 0, 1);
  return Buffer.concat([head, payload]);
}

export interface RawCall {
  path: string;
  body: Buffer;
  contentType?: string;
  /** gRPC timeout header, e.g. "300m"; streams need one, or WatchState would run forever. */
  timeout?: string;
}

export function rawCall(session: ClientHttp2Session, call: RawCall): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = {
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: call.path,
      "content-type": call.contentType ?? "application/grpc",
      te: "trailers",
    };
    if (call.timeout) headers["grpc-timeout"] = call.timeout;
    const req = session.request(headers);
    const answer: RawAnswer = { httpStatus: 0, grpcStatus: undefined, grpcMessage: "", bodyBytes: 0, rstCode: 0 };
    const read = (h: Record<string, unknown>) => {
      if (h["grpc-status"] !== undefined) answer.grpcStatus = Number(h["grpc-status"]);
      if (typeof h["grpc-message"] === "string") answer.grpcMessage = decodeURIComponent(h["grpc-message"]);
    };
    req.on("response", (h) => {
      answer.httpStatus = Number(h[":status"]);
      read(h);
    });
    req.on("trailers", read);
    req.on("data", (d: Buffer) => (answer.bodyBytes += d.length));
    req.on("end", () => resolve(answer));
    req.on("close", () => resolve({ ...answer, rstCode: req.rstCode ?? 0 }));
    // A reset stream is an answer too (the server refusing at the HTTP/2 level); 'close' reports it.
    req.on("error", () => {});
    req.end(call.body);
  });
}
