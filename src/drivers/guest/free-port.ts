// A free TCP port on 127.0.0.1, found by binding port 0 and closing. Another
// process may take it before QEMU binds it: the launch then fails with a
// recognisable message and the caller picks again.
import { createServer } from "node:net";

export function pickFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("could not pick a free port"))));
    });
  });
}
