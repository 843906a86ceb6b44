// A bare grpc-js server with default options: the baseline driverplug is
// compared against. It serves the same DriverService (GetState answered from
// a constant) and the bench EchoService, and prints its address when bound.
// Usage: node bare-grpc-server.js unix:/abs/path.sock | tcp
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { DriverServiceService, State, type GetStateRequest, type GetStateResponse } from "../../generated/driverplug/driver/v1/driver.js";
import { echoHandlers } from "../echo-handlers.js";
import { echoServiceDefinition } from "../echo-service.js";

const target = process.argv[2];
if (target === undefined) {
  console.error("usage: bare-grpc-server.js unix:/abs/path.sock | tcp");
  process.exit(2);
}

// Only GetState is benchmarked; grpc-js answers UNIMPLEMENTED for the rest.
const driver: UntypedServiceImplementation = {
  getState(_call: ServerUnaryCall<GetStateRequest, GetStateResponse>, callback: sendUnaryData<GetStateResponse>) {
    callback(null, { state: State.STATE_STOPPED });
  },
};

const server = new Server();
server.addService(DriverServiceService, driver);
server.addService(echoServiceDefinition, echoHandlers);
const bindTo = target === "tcp" ? "127.0.0.1:0" : target;
server.bindAsync(bindTo, ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(`bare server could not bind ${bindTo}: ${err.message}`);
    process.exit(1);
  }
  process.stdout.write(`${target === "tcp" ? `127.0.0.1:${port}` : target}\n`);
});
process.on("SIGTERM", () => server.forceShutdown());
