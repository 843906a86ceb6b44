// The local transport: the daemon's Unix socket (session daemon started on
// demand, see session-daemon.ts).
import type { LibvirtMode } from "./connection-uri.js";
import { connectLocalDaemon, daemonSocketPath } from "./session-daemon.js";
import type { Transport } from "./transport.js";

export async function openUnixTransport(
  mode: LibvirtMode,
  options: { env?: NodeJS.ProcessEnv; autostart?: boolean; signal?: AbortSignal } = {},
): Promise<Transport> {
  const path = daemonSocketPath(mode, options.env);
  const socket = await connectLocalDaemon(mode, options);
  let lastError: Error | undefined;
  socket.on("error", (err) => {
    lastError = err;
  });
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return {
    stream: socket,
    label: `the libvirt ${mode} daemon at ${path}`,
    endReason: async () => {
      await closed;
      return lastError ? lastError.message : "the daemon closed the connection";
    },
    close: () => socket.destroy(),
  };
}
