// A QMP server written for the tests: it speaks QEMU's monitor protocol on a
// Unix socket (greeting, qmp_capabilities, commands, events) and, like QEMU,
// serves one client at a time: a second client gets no greeting until the
// first one leaves.
import { createServer, type Server, type Socket } from "node:net";

export type Handler = (args: Record<string, unknown> | undefined) => {
  return?: unknown;
  error?: { class: string; desc: string };
};

export class FakeQmpServer {
  readonly received: string[] = [];
  private current: Socket | undefined;
  private readonly waiting: Socket[] = [];
  private server: Server | undefined;

  constructor(
    readonly path: string,
    private readonly handlers: Record<string, Handler> = {},
  ) {}

  async listen(): Promise<void> {
    this.server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve) => this.server!.listen(this.path, resolve));
  }

  /** Sends an asynchronous event to the client being served. */
  emit(event: string, data: Record<string, unknown> = {}): void {
    this.current?.write(`${JSON.stringify({ event, data, timestamp: { seconds: 1, microseconds: 2 } })}\n`);
  }

  /** Drops the client being served, as QEMU does when it exits. */
  dropClient(): void {
    this.current?.destroy();
  }

  async close(): Promise<void> {
    for (const s of [this.current, ...this.waiting]) s?.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(socket: Socket): void {
    socket.on("error", () => undefined);
    if (this.current) {
      this.waiting.push(socket);
      socket.once("close", () => {
        const at = this.waiting.indexOf(socket);
        if (at >= 0) this.waiting.splice(at, 1);
      });
      return;
    }
    this.serve(socket);
  }

  private serve(socket: Socket): void {
    if (socket.destroyed) return this.serveNext();
    this.current = socket;
    let negotiated = false;
    let buffer = "";
    socket.write(
      `${JSON.stringify({ QMP: { version: { qemu: { major: 7, minor: 2, micro: 0 } }, capabilities: ["oob"] } })}\n`,
    );
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim() === "") continue;
        this.received.push(line);
        const msg = JSON.parse(line) as { execute: string; arguments?: Record<string, unknown>; id?: unknown };
        const reply = (body: object) =>
          socket.write(`${JSON.stringify({ ...body, ...(msg.id !== undefined ? { id: msg.id } : {}) })}\n`);
        if (msg.execute === "qmp_capabilities") {
          negotiated = true;
          reply({ return: {} });
        } else if (!negotiated) {
          reply({
            error: { class: "CommandNotFound", desc: "Expecting capabilities negotiation with 'qmp_capabilities'" },
          });
        } else if (this.handlers[msg.execute]) {
          reply(this.handlers[msg.execute]!(msg.arguments));
        } else {
          reply({ error: { class: "CommandNotFound", desc: `The command ${msg.execute} has not been found` } });
        }
      }
    });
    socket.once("close", () => {
      this.current = undefined;
      this.serveNext();
    });
  }

  private serveNext(): void {
    const next = this.waiting.shift();
    if (next) this.serve(next);
  }
}
