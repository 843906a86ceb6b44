// The fresh private directory a host makes for each plugin it launches:
// mkdtemp (0700) under a base directory that passes the socket-dir checks.
// The path stays short so the socket path fits the 103-byte limit.
import { promises as fs, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { checkPrivateDir, effectiveUid, ensurePrivateDir, type CheckedDir } from "../socket/private-dir.js";
import { MAX_SOCKET_PATH_BYTES } from "../socket/socket-path.js";
import { reclaimStaleSockets } from "../socket/stale-sockets.js";
import { LaunchError } from "./launch-error.js";
import { processAlive } from "./plugin-process.js";

/** Room a plugin needs for `/<driver up to 32>-<pid>-<8 hex>.sock`. */
const SOCKET_NAME_ROOM = 1 + 32 + 1 + 10 + 1 + 8 + 5;

// The base directory's default is the plugins' own (one rule for both sides).
export { defaultSocketBaseDir } from "../socket/resolve-dir.js";

/** `h<host pid>-XXXXXX`: the pid lets a later host see that the dir's owner is dead. */
const PRIVATE_DIR_NAME = /^h([0-9]{1,10})-[A-Za-z0-9]{6}$/;

/**
 * Makes `<base>/h<pid>-XXXXXX` (0700, checked) and returns its real path.
 * With `gid` (group mode) the base and the dir belong to that group, 0710:
 * its members may reach the socket, not list or change the dirs.
 * First it reclaims what hosts that were killed left in the base dir.
 */
export async function makePrivateDir(baseDir: string, gid?: number): Promise<CheckedDir> {
  const policy = gid === undefined ? {} : { gid };
  let dir: string;
  try {
    const base = await ensurePrivateDir(baseDir, policy);
    await reclaimDeadHostDirs(base.path);
    dir = await fs.mkdtemp(join(base.path, `h${process.pid}-`));
    if (gid !== undefined) {
      // Group first, then widen: the dir is never open to the wrong group.
      await fs.chown(dir, -1, gid);
      await fs.chmod(dir, 0o710);
    }
  } catch (err) {
    throw new LaunchError(
      "socket-dir",
      `cannot make a private socket directory under ${baseDir}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  try {
    const checked = await checkPrivateDir(dir, policy);
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

/**
 * A host killed with SIGKILL cannot remove its private dirs; its plugins
 * notice and remove their sockets. Dirs of dead hosts are removed here, but
 * only sockets nothing listens on, and only dirs then empty: a plugin that
 * outlived its host keeps its socket.
 */
async function reclaimDeadHostDirs(base: string): Promise<void> {
  const uid = effectiveUid();
  for (const name of await fs.readdir(base).catch(() => [])) {
    const m = PRIVATE_DIR_NAME.exec(name);
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    const dir = join(base, name);
    const st = await fs.lstat(dir).catch(() => undefined);
    if (!st || !st.isDirectory() || st.uid !== uid) continue;
    await reclaimStaleSockets(dir, uid).catch(() => undefined);
    await fs.rmdir(dir).catch(() => undefined);
  }
}

/**
 * close() of a reattached plugin, whose record could be stale or forged:
 * removes only what driverplug made. The directory must have a private dir's
 * name directly under a base dir that passes the checks; in it only sockets
 * of driverplug's name pattern that nothing listens on go, and the directory
 * itself only if that leaves it empty. Anything else is left alone.
 */
export async function removeReattachedDir(dir: string, gid?: number): Promise<void> {
  if (!PRIVATE_DIR_NAME.test(basename(dir))) return;
  try {
    await checkPrivateDir(dirname(dir), gid === undefined ? {} : { gid });
    await checkPrivateDir(dir, gid === undefined ? {} : { gid });
  } catch {
    return;
  }
  await reclaimStaleSockets(dir, effectiveUid()).catch(() => undefined);
  await fs.rmdir(dir).catch(() => undefined);
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
