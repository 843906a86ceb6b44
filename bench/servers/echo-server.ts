// The bench-only EchoService (proto/echo.proto) on a grpc-js server, for the
// flow-control-window experiment. Prints its address when bound.
// Usage: node echo-server.js unix:/abs/path.sock [window-bytes]
// With window-bytes the server's HTTP/2 receive windows (stream and
// connection) are raised to it. grpc-js 1.14 reads grpc-node.flow_control_window
// on clients only, so this wraps node:http2's createServer, which grpc-js
// calls when it binds: a bench-only way to measure what a server-side window
// would buy, not something to ship.
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { createRequire } from "node:module";
import { echoHandlers, echoServiceDefinition } from "../echo-service.js";

const [target, windowArg] = process.argv.slice(2);
if (target === undefined) {
  console.error("usage: echo-server.js unix:/abs/path.sock [window-bytes]");
  process.exit(2);
}
if (windowArg !== undefined) raiseServerWindows(Number(windowArg));

function raiseServerWindows(bytes: number): void {
  // The CommonJS module object grpc-js itself requires, so the wrapper is what it calls.
  const http2 = createRequire(import.meta.url)("node:http2") as typeof import("node:http2");
  const createServer = http2.createServer;
  http2.createServer = ((options: import("node:http2").ServerOptions) => {
    const server = createServer({ ...options, settings: { ...options.settings, initialWindowSize: bytes } });
    server.on("session", (session) => session.setLocalWindowSize(bytes));
    return server;
  }) as typeof http2.createServer;
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
