// The floor: a raw Node Unix-socket server that echoes every byte back, so a
// small-message ping-pong over it is the least a Node round trip can cost.
// Usage: node floor-server.js /abs/path.sock
import { createServer } from "node:net";

const path = process.argv[2];
if (path === undefined) {
  console.error("usage: floor-server.js /abs/path.sock");
  process.exit(2);
}
const server = createServer((socket) => {
  socket.setNoDelay(true);
  socket.on("data", (chunk) => socket.write(chunk));
  socket.on("error", () => socket.destroy());
});
server.listen(path, () => process.stdout.write(`${path}\n`));
process.on("SIGTERM", () => process.exit(0));
