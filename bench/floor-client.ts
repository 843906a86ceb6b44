// Client half of the floor: writes a small message on a raw Unix socket and
// waits until all of its bytes came back.
import { connect, type Socket } from "node:net";
import { once } from "node:events";

/** About the size of a GetState request plus gRPC framing. */
const MESSAGE = Buffer.alloc(32, 0x70);

export interface FloorClient {
  call(): Promise<void>;
  close(): void;
}

export async function connectFloor(path: string): Promise<FloorClient> {
  const socket: Socket = connect(path);
  socket.setNoDelay(true);
  await once(socket, "connect");
  let pending: { remaining: number; resolve: () => void } | undefined;
  socket.on("data", (chunk) => {
    if (pending === undefined) return;
    pending.remaining -= chunk.length;
    if (pending.remaining <= 0) {
      const { resolve } = pending;
      pending = undefined;
      resolve();
    }
  });
  return {
    call: () =>
      new Promise<void>((resolve) => {
        pending = { remaining: MESSAGE.length, resolve };
        socket.write(MESSAGE);
      }),
    close: () => socket.destroy(),
  };
}
