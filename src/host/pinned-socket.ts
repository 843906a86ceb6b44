// The socket the host checked is the one it talks to, on every connection:
// grpc-js connects by path whenever a connection ends, and the path could
// name another socket by then (the plugin, or anything of its user, can swap
// it for a symlink). On Linux the host holds an O_PATH descriptor of the
// checked socket file, opened without following a symlink and compared by
// dev/inode with what was checked, and connects through /proc/self/fd/<n>,
// which reaches that very socket whatever the path names later. Elsewhere the
// path is used as it is (SECURITY.md says so).
import { closeSync, constants, fstatSync, lstatSync, openSync } from "node:fs";
import { unixAddress } from "../socket/socket-path.js";

/** Linux's O_PATH (the same value on x86-64 and arm64); Node does not export it. */
const O_PATH = 0o10000000;

export interface PinnedSocket {
  /** The address to give grpc-js: unix:/proc/self/fd/<n>, or the path where pinning is unavailable. */
  readonly address: string;
  /** True when connections are pinned to the checked socket. */
  readonly pinned: boolean;
  /** Closes the descriptor; idempotent. */
  release(): void;
}

export function pinSocket(socketPath: string): PinnedSocket {
  if (process.platform !== "linux") return unpinned(socketPath);
  const checked = lstatSync(socketPath);
  const fd = openSync(socketPath, O_PATH | constants.O_NOFOLLOW);
  const st = fstatSync(fd);
  if (!st.isSocket() || st.dev !== checked.dev || st.ino !== checked.ino) {
    closeSync(fd);
    throw new Error(`socket ${socketPath} changed while it was being checked; someone is tampering with it`);
  }
  let open = true;
  return {
    address: unixAddress(`/proc/self/fd/${fd}`),
    pinned: true,
    release() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

function unpinned(socketPath: string): PinnedSocket {
  return { address: unixAddress(socketPath), pinned: false, release() {} };
}
