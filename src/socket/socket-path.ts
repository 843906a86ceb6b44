// Socket file names and the address length limit. Each plugin process gets
// its own name, so two plugins never unlink or hijack each other's socket.
import { randomBytes } from "node:crypto";
import { isAbsolute } from "node:path";

/**
 * The longest socket path we accept, in bytes. Linux allows 107, macOS 103;
 * Node silently truncates longer paths (the bind "succeeds" elsewhere), so we
 * hold every platform to the smaller limit and fail clearly instead.
 */
export const MAX_SOCKET_PATH_BYTES = 103;

export class SocketPathError extends Error {
  override name = "SocketPathError";
}

export function assertSocketPathFits(path: string): void {
  if (!isAbsolute(path)) {
    throw new SocketPathError(`socket path ${JSON.stringify(path)} is relative; socket paths must be absolute`);
  }
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new SocketPathError(
      `socket path ${path} is ${bytes} bytes, over the ${MAX_SOCKET_PATH_BYTES}-byte limit of Unix socket addresses; ` +
        `use a shorter socket directory (set PLUGIN_UNIX_SOCKET_DIR or MACHINE_PLUGIN_SOCKET_DIR, e.g. to /tmp/dp)`,
    );
  }
}

/** Driver names become part of file names: keep them to a safe alphabet. */
export function assertDriverName(name: string): void {
  if (!/^[a-z0-9][a-z0-9_-]{0,31}$/.test(name)) {
    throw new Error(
      `invalid driver name ${JSON.stringify(name)}: use 1 to 32 lowercase letters, digits, "-" or "_", starting with a letter or digit`,
    );
  }
}

/** `<driver>-<pid>-<8 hex>.sock`: unique to this process and this call. */
export function uniqueSocketName(driver: string, pid = process.pid): string {
  assertDriverName(driver);
  return `${driver}-${pid}-${randomBytes(4).toString("hex")}.sock`;
}

const OURS = /^([a-z0-9][a-z0-9_-]{0,31})-([0-9]{1,10})-([0-9a-f]{8})\.sock$/;

/** The parts of a name made by uniqueSocketName, or undefined if it is not one. */
export function parseSocketName(name: string): { driver: string; pid: number } | undefined {
  const m = OURS.exec(name);
  return m ? { driver: m[1]!, pid: Number(m[2]) } : undefined;
}

/** `unix:` + absolute path: the only address form grpc-js reads unambiguously. */
export function unixAddress(path: string): string {
  assertSocketPathFits(path);
  return `unix:${path}`;
}
