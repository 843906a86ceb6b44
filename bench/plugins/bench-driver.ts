// A driverplug plugin for the throughput figures the fake driver is not
// shaped for: it keeps whatever config bytes it is given (1 MiB payloads
// through SetConfig and GetConfig) and its WatchState sends BENCH_BURST
// states as fast as the stream takes them, then ends. The bare grpc-js
// server answers the same calls the same way.
// Run: node bench-driver.js (under a host: launch() with executable = node).
import { State } from "../../generated/driverplug/driver/v1/driver.js";
import { serve, type Driver, type ServerMiddleware } from "../../src/plugin/index.js";
import { otelServerMiddleware } from "../../src/otel/index.js";
import { burstCount } from "../burst.js";

let config: Buffer = Buffer.alloc(0);
const burst = burstCount(process.env);

const driver: Driver = {
  async getConfig() {
    return { configJson: config };
  },
  async setConfig(request) {
    config = request.configJson;
    return {};
  },
  async getState() {
    return { state: State.STATE_NONE_UNSPECIFIED };
  },
  async *watchState() {
    for (let i = 0; i < burst; i++) yield { state: State.STATE_STOPPED };
  },
  async *create() {},
  async *start() {},
  async stop() {
    return {};
  },
  async kill() {
    return {};
  },
  async remove() {
    return {};
  },
};

const passOn: ServerMiddleware = async function* (call, ctx) {
  return yield* call.next(call.request, ctx);
};
const MIDDLEWARE: Record<string, ServerMiddleware[]> = { empty: [passOn], otel: [otelServerMiddleware()] };

await serve({
  name: "bench",
  version: "0.0.0",
  driver,
  middleware: MIDDLEWARE[process.env.BENCH_MIDDLEWARE ?? ""] ?? [],
});
