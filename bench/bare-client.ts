// The bare baseline client: the generated ts-proto DriverServiceClient and a
// proto-loader EchoService client, grpc-js defaults, promisified by hand with
// nothing else in the way.
import { credentials, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { DriverServiceClient, type GetStateResponse } from "../generated/driverplug/driver/v1/driver.js";
import { EchoServiceClient, type EchoMessage } from "./echo-service.js";

export interface BareClient {
  getState(): Promise<GetStateResponse>;
  echo(payload: Buffer): Promise<Buffer>;
  /** Resolves with the number of messages received. */
  burst(count: number, size: number): Promise<number>;
  close(): void;
}

type UnaryMethod<Req, Res> = (req: Req, cb: (err: ServiceError | null, res: Res) => void) => void;
type StreamMethod<Req, Res> = (req: Req) => ClientReadableStream<Res>;

/** `address` is a grpc-js target: "unix:/abs/path" or "127.0.0.1:port". */
export function connectBare(address: string): BareClient {
  const driver = new DriverServiceClient(address, credentials.createInsecure());
  const echo = new EchoServiceClient(address, credentials.createInsecure()) as unknown as {
    Echo: UnaryMethod<EchoMessage, EchoMessage>;
    Burst: StreamMethod<{ count: number; size: number }, EchoMessage>;
    close(): void;
  };
  return {
    getState: () => new Promise((resolve, reject) => driver.getState({}, (err, res) => (err ? reject(err) : resolve(res)))),
    echo: (payload) => new Promise((resolve, reject) => echo.Echo({ payload }, (err, res) => (err ? reject(err) : resolve(res.payload)))),
    burst: (count, size) => countStream(echo.Burst({ count, size })),
    close: () => {
      driver.close();
      echo.close();
    },
  };
}

/** Counts messages with plain 'data' events: the cheapest way grpc-js offers. */
function countStream(stream: ClientReadableStream<unknown>): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    stream.on("data", () => n++);
    stream.on("end", () => resolve(n));
    stream.on("error", reject);
  });
}
