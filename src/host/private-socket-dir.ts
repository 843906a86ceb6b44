// The fresh private directory a host makes for each plugin it launches:
// mkdtemp (0700) under a base directory that passes the socket-dir checks.
// The path stays short so the socket path fits the 103-byte limit.
import { promises as fs, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkPrivateDir, effectiveUid, ensurePrivateDir, type CheckedDir } from "../socket/private-dir.js";
import { MAX_SOCKET_PATH_BYTES } from "../socket/socket-path.js";
import { LaunchError } from "./launch-error.js";

/** Room a plugin needs for `/<driver up to 32>-<pid>-<8 hex>.sock`. */
const SOCKET_NAME_ROOM = 1 + 32 + 1 + 10 + 1 + 8 + 5;

/** `$XDG_RUNTIME_DIR/driverplug` when set, else `<tmpdir>/driverplug-<uid>`. */
export function defaultSocketBaseDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, "driverplug");
  return join(tmpdir(), `driverplug-${effectiveUid()}`);
}

/** Makes `<base>/h-XXXXXX` (0700, checked); returns its real path. */
export async function makePrivateDir(baseDir: string): Promise<CheckedDir> {
  let dir: string;
  try {
    const base = await ensurePrivateDir(baseDir);
    dir = await fs.mkdtemp(join(base.path, "h-"));
  } catch (err) {
    throw new LaunchError("socket-dir", `cannot make a private socket directory under ${baseDir}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const checked = await checkPrivateDir(dir);
    const bytes = Buffer.byteLength(checked.path) + SOCKET_NAME_ROOM;
    if (bytes > MAX_SOCKET_PATH_BYTES) {
      throw new Error(
        `socket paths under ${checked.path} could reach ${bytes} bytes, over the ${MAX_SOCKET_PATH_BYTES}-byte limit of Unix socket addresses; ` +
          `choose a shorter socket base dir (the socketBaseDir option, e.g. /tmp/dp)`,
      );
    }
    return checked;
  } catch (err) {
    removePrivateDirSync(dir);
    throw new LaunchError("socket-dir", (err as Error).message, { cause: err });
  }
}

export async function removePrivateDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

/** For the host's 'exit' handler, where nothing asynchronous runs any more. */
export function removePrivateDirSync(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // Best effort: the process is exiting.
  }
}
