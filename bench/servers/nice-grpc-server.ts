// The bare server's GetState answer served through nice-grpc's server
// (createServer over grpc-js, default options): with a bare grpc-js client in
// front of each, it measures what nice-grpc's server adds per call, next to
// the plugin's own adapter (the question: build the plugin side on nice-grpc?).
// Usage: node nice-grpc-server.js unix:/abs/path.sock
import { createServer, ServerError, Status } from "nice-grpc";
import { DriverServiceService, State } from "../../generated/driverplug/driver/v1/driver.js";

const target = process.argv[2];
if (target === undefined) {
  console.error("usage: nice-grpc-server.js unix:/abs/path.sock");
  process.exit(2);
}

const server = createServer();
// Only GetState is called; nice-grpc wants every method, so the rest say UNIMPLEMENTED.
const implementation: Record<string, () => Promise<unknown>> = {};
for (const name of Object.keys(DriverServiceService)) {
  implementation[name] = () => Promise.reject(new ServerError(Status.UNIMPLEMENTED, name));
}
implementation.getState = async () => ({ state: State.STATE_NONE_UNSPECIFIED });
server.add(
  DriverServiceService,
  implementation as unknown as Parameters<typeof server.add<typeof DriverServiceService>>[1],
);
server.listen(target).then(
  () => process.stdout.write(`${target}\n`),
  (err: unknown) => {
    console.error(`nice-grpc server could not bind ${target}: ${String(err)}`);
    process.exit(1);
  },
);
process.on("SIGTERM", () => void server.forceShutdown());
