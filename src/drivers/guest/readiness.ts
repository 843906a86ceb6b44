// How a guest says it is ready: the line "driverplug-ready" on the dp.ready
// virtio-serial port (or its console). A ReadySource is the host's end of that
// port: a Unix socket QEMU serves (SocketReadyPort), or a channel stream a
// backend opens over its own connection.
import { connect, type Socket } from "node:net";

export const READY_LINE = "driverplug-ready";

export interface ReadySource {
  /** True once the readiness line arrived. */
  readonly seen: boolean;
  close(): void;
}

/** A client of the readiness port's Unix socket, reconnecting until the line arrives. */
export class SocketReadyPort implements ReadySource {
  seen = false;
  private socket: Socket | undefined;
  private received = "";
  private closed = false;

  constructor(private readonly path: string) {
    this.open();
  }

  private open(): void {
    if (this.closed || this.seen) return;
    const socket = connect(this.path);
    this.socket = socket;
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      this.received = (this.received + chunk).slice(-256);
      if (this.received.includes(READY_LINE)) this.seen = true;
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      if (!this.closed && !this.seen) setTimeout(() => this.open(), 200).unref();
    });
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
  }
}

/** The readiness port as a stream of chunks (libvirt's channel over its connection). */
export class StreamReadyPort implements ReadySource {
  seen = false;
  private received = "";

  constructor(
    chunks: AsyncIterable<Buffer>,
    private readonly onClose: () => void = () => undefined,
  ) {
    void this.follow(chunks);
  }

  private async follow(chunks: AsyncIterable<Buffer>): Promise<void> {
    try {
      for await (const chunk of chunks) {
        this.received = (this.received + chunk.toString("latin1")).slice(-256);
        if (this.received.includes(READY_LINE)) {
          this.seen = true;
          return;
        }
      }
    } catch {
      // The stream broke: the console's copy of the line, or SSH, still tells.
    }
  }

  close(): void {
    this.onClose();
  }
}
