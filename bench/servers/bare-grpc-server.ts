// A bare grpc-js server with default options: the baseline driverplug is
// compared against. It serves the same DriverService (GetState answered from
// the fake driver's "no machine" state, config bytes kept and returned, WatchState sending BENCH_BURST
// states), and prints its address when bound. Nothing else is loaded in its
// process: proto-loader and protobufjs in the same process measurably slowed
// its 1 MiB calls, so the echo experiment has a server of its own.
// Usage: node bare-grpc-server.js unix:/abs/path.sock | tcp
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import {
  DriverServiceService,
  State,
  type GetConfigRequest,
  type GetConfigResponse,
  type GetStateRequest,
  type GetStateResponse,
  type SetConfigRequest,
  type SetConfigResponse,
  type WatchStateRequest,
  type WatchStateResponse,
} from "../../generated/driverplug/driver/v1/driver.js";
import { burstCount } from "../burst.js";

const target = process.argv[2];
if (target === undefined) {
  console.error("usage: bare-grpc-server.js unix:/abs/path.sock | tcp");
  process.exit(2);
}

// In a session of its own (child-server.ts) a Ctrl-C of the bench does not reach it: it ends with the bench.
if (process.env.BENCH_STDIN_LIFELINE === "1") process.stdin.on("end", () => process.exit(0)).resume();

const burst = burstCount(process.env);
let config: Buffer = Buffer.alloc(0);

// The calls the bench makes, answered as the bench plugin answers them;
// grpc-js answers UNIMPLEMENTED for the rest.
const driver: UntypedServiceImplementation = {
  getState(_call: ServerUnaryCall<GetStateRequest, GetStateResponse>, callback: sendUnaryData<GetStateResponse>) {
    callback(null, { state: State.STATE_NONE_UNSPECIFIED });
  },
  getConfig(_call: ServerUnaryCall<GetConfigRequest, GetConfigResponse>, callback: sendUnaryData<GetConfigResponse>) {
    callback(null, { configJson: config });
  },
  setConfig(call: ServerUnaryCall<SetConfigRequest, SetConfigResponse>, callback: sendUnaryData<SetConfigResponse>) {
    config = call.request.configJson;
    callback(null, {});
  },
  watchState(call: ServerWritableStream<WatchStateRequest, WatchStateResponse>) {
    let sent = 0;
    // Honour back-pressure as grpc-js expects: write until it buffers, resume on drain.
    const pump = () => {
      while (sent < burst) {
        sent++;
        if (!call.write({ state: State.STATE_STOPPED })) {
          call.once("drain", pump);
          return;
        }
      }
      call.end();
    };
    pump();
  },
};

const server = new Server();
server.addService(DriverServiceService, driver);
const bindTo = target === "tcp" ? "127.0.0.1:0" : target;
server.bindAsync(bindTo, ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(`bare server could not bind ${bindTo}: ${err.message}`);
    process.exit(1);
  }
  process.stdout.write(`${target === "tcp" ? `127.0.0.1:${port}` : target}\n`);
});
process.on("SIGTERM", () => server.forceShutdown());
