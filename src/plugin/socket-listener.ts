// Puts the plugin's gRPC server on a fresh Unix socket in a checked private
// directory (docs/protocol.md, sections 5 and 6): resolve the directory,
// check it before creating anything, reclaim stale sockets in shared base
// directories, bind under a umask so the socket is never wider than 0600,
// then re-check that the directory was not swapped and the socket is ours.
// On Linux the bind goes through /proc/self/fd/<fd of the checked dir>, so a
// swap of the path between the check and the bind cannot move the socket.
import { closeSync, constants, existsSync, fstatSync, openSync, promises as fs, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Server, ServerCredentials } from "@grpc/grpc-js";
import { PLUGIN_UNIX_SOCKET_GROUP } from "../protocol/env.js";
import {
  assertDirUnchanged,
  checkPrivateDir,
  effectiveUid,
  ensurePrivateDir,
  SocketDirError,
  type CheckedDir,
} from "../socket/private-dir.js";
import { resolveSocketDir } from "../socket/resolve-dir.js";
import { checkSocketFile } from "../socket/socket-file.js";
import { resolveSocketGroup } from "../socket/socket-group.js";
import { assertSocketPathFits, uniqueSocketName, unixAddress } from "../socket/socket-path.js";
import { reclaimStaleSockets } from "../socket/stale-sockets.js";
import type { Logger } from "./logger.js";

export interface ListenOptions {
  driverName: string;
  credentials: ServerCredentials;
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Called as soon as the socket file exists, so every exit path can remove it. */
  onBound(path: string): void;
}

export interface Listening {
  /** The socket's absolute path, as the handshake prints it. */
  path: string;
}

export async function listenOnPrivateSocket(server: Server, options: ListenOptions): Promise<Listening> {
  const { env, log } = options;
  const choice = resolveSocketDir(env);
  const groupValue = env[PLUGIN_UNIX_SOCKET_GROUP];
  const gid = groupValue ? resolveSocketGroup(groupValue) : undefined;
  const uid = effectiveUid();
  const name = uniqueSocketName(options.driverName);
  // Fail on length before creating anything, then again on the real path.
  assertSocketPathFits(join(choice.dir, name));
  const policy = gid === undefined ? { uid } : { uid, gid };
  const dir = choice.create ? await ensurePrivateDir(choice.dir, policy) : await checkPrivateDir(choice.dir, policy);
  if (choice.create) {
    const { removed } = await reclaimStaleSockets(dir.path, uid);
    for (const path of removed) log.info("removed a stale socket left by a dead plugin", { path });
  }
  const path = join(dir.path, name);
  assertSocketPathFits(path);
  const pinned = pinDirectory(dir);
  // Through the pinned directory when there is one; it stays open for the plugin's life so exit paths unlink there too.
  const bound = pinned === undefined ? path : join(`/proc/self/fd/${pinned}`, name);
  try {
    await bindPrivately(server, bound, path, options);
  } catch (err) {
    if (pinned !== undefined) closeSync(pinned);
    throw err;
  }
  try {
    if (gid !== undefined) {
      // Group first, then widen: the socket is never open to the wrong group.
      await fs.chown(bound, -1, gid);
      await fs.chmod(bound, 0o660);
    }
    await assertDirUnchanged(dir);
    await checkSocketFile(bound, gid === undefined ? { uid } : { uid, gid });
  } catch (err) {
    removeSocketFile(bound);
    if (pinned !== undefined) closeSync(pinned);
    throw err;
  }
  log.debug("plugin socket ready", { path, dir: dir.path, dirSource: choice.source });
  return { path };
}

/**
 * Opens the checked directory (no symlink followed) and confirms it is the
 * one checked. Returns its fd, or undefined where /proc/self/fd is missing
 * (not Linux): there the re-check after bind is the only guard.
 */
function pinDirectory(dir: CheckedDir): number | undefined {
  if (!existsSync("/proc/self/fd")) return undefined;
  let fd: number;
  try {
    fd = openSync(dir.path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (err) {
    throw new SocketDirError(
      dir.path,
      `socket directory ${dir.path} was replaced while the socket was being created (${(err as NodeJS.ErrnoException).code}); someone is tampering with it: check its ancestors' permissions`,
    );
  }
  const st = fstatSync(fd);
  if (st.dev !== dir.dev || st.ino !== dir.ino) {
    closeSync(fd);
    throw new SocketDirError(
      dir.path,
      `socket directory ${dir.path} was replaced while the socket was being created; someone is tampering with it: check its ancestors' permissions`,
    );
  }
  return fd;
}

/** Binds with umask 0o177 so the socket file is created 0600: no chmod window. */
function bindPrivately(server: Server, bound: string, shown: string, options: ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const previous = process.umask(0o177);
    server.bindAsync(unixAddress(bound), options.credentials, (err) => {
      process.umask(previous);
      if (err) {
        reject(new Error(`cannot listen on ${shown}: ${err.message}`));
        return;
      }
      options.onBound(bound);
      resolve();
    });
  });
}

/** Synchronous so it also works from 'exit' handlers. */
export function removeSocketFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone: nothing to clean.
  }
}
