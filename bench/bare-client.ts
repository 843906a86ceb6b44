// The bare baseline client: the generated ts-proto DriverServiceClient (and a
// proto-loader EchoService client) on grpc-js, promisified by hand with
// nothing else in the way.
import {
  credentials,
  Metadata,
  type ChannelOptions,
  type ClientReadableStream,
  type ServiceError,
} from "@grpc/grpc-js";
import { DriverServiceClient, type GetConfigResponse } from "../generated/driverplug/driver/v1/driver.js";
import type { BenchClient } from "./bench-client.js";
import { EchoServiceClient, type EchoMessage } from "./echo-service.js";

/**
 * `address` is a grpc-js target: "unix:/abs/path" or "127.0.0.1:port".
 * With `deadlineMs`, GetState carries a deadline, as the host's calls do.
 */
export function connectBare(address: string, options: ChannelOptions = {}, deadlineMs?: number): BenchClient {
  const driver = new DriverServiceClient(address, credentials.createInsecure(), options);
  const callOptions = () => (deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs });
  const unary = <T>(start: (cb: (err: ServiceError | null, res: T) => void) => void) =>
    new Promise<T>((resolve, reject) => start((err, res) => (err ? reject(err) : resolve(res))));
  return {
    getState: () => unary((cb) => driver.getState({}, new Metadata(), callOptions(), cb)),
    configRoundTrip: async (payload) => {
      await unary((cb) => driver.setConfig({ configJson: payload }, cb));
      const res = await unary<GetConfigResponse>((cb) => driver.getConfig({}, cb));
      return res.configJson.length;
    },
    watchBurst: () => countStream(driver.watchState({})),
    close: () => driver.close(),
  };
}

export interface EchoClient {
  echo(payload: Buffer): Promise<Buffer>;
  close(): void;
}

/** The bench EchoService over grpc-js, with `options` on the channel (e.g. a flow-control window). */
export function connectEcho(address: string, options: ChannelOptions = {}): EchoClient {
  const client = new EchoServiceClient(address, credentials.createInsecure(), options) as unknown as {
    Echo(req: EchoMessage, cb: (err: ServiceError | null, res: EchoMessage) => void): void;
    close(): void;
  };
  return {
    echo: (payload) =>
      new Promise((resolve, reject) =>
        client.Echo({ payload }, (err, res) => (err ? reject(err) : resolve(res.payload))),
      ),
    close: () => client.close(),
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
