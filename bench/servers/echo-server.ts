// The bench-only EchoService (proto/echo.proto) on a default grpc-js server,
// for the flow-control-window experiment. Prints its address when bound.
// Usage: node echo-server.js unix:/abs/path.sock
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { echoHandlers, echoServiceDefinition } from "../echo-service.js";

const target = process.argv[2];
if (target === undefined) {
  console.error("usage: echo-server.js unix:/abs/path.sock");
  process.exit(2);
}
const server = new Server();
server.addService(echoServiceDefinition, echoHandlers);
server.bindAsync(target, ServerCredentials.createInsecure(), (err) => {
  if (err) {
    console.error(`echo server could not bind ${target}: ${err.message}`);
    process.exit(1);
  }
  process.stdout.write(`${target}\n`);
});
process.on("SIGTERM", () => server.forceShutdown());
