// Puts the plugin's gRPC server on a fresh Unix socket in a checked private
// directory (DESIGN.md, plugin protocol points 3 to 5): resolve the directory,
// check it before creating anything, reclaim stale sockets in shared base
// directories, bind under a umask so the socket is never wider than 0600,
// then re-check that the directory was not swapped and the socket is ours.
import { promises as fs, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Server, ServerCredentials } from "@grpc/grpc-js";
import { PLUGIN_UNIX_SOCKET_GROUP } from "../protocol/env.js";
import { assertDirUnchanged, checkPrivateDir, effectiveUid, ensurePrivateDir, type CheckedDir } from "../socket/private-dir.js";
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
  path: string;
  dir: CheckedDir;
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
  await bindPrivately(server, path, options);
  try {
    if (gid !== undefined) {
      // Group first, then widen: the socket is never open to the wrong group.
      await fs.chown(path, -1, gid);
      await fs.chmod(path, 0o660);
    }
    await assertDirUnchanged(dir);
    await checkSocketFile(path, gid === undefined ? { uid } : { uid, gid });
  } catch (err) {
    removeSocketFile(path);
    throw err;
  }
  log.debug("plugin socket ready", { path, dir: dir.path, dirSource: choice.source });
  return { path, dir };
}

/** Binds with umask 0o177 so the socket file is created 0600: no chmod window. */
function bindPrivately(server: Server, path: string, options: ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const previous = process.umask(0o177);
    server.bindAsync(unixAddress(path), options.credentials, (err) => {
      process.umask(previous);
      if (err) {
        reject(new Error(`cannot listen on ${path}: ${err.message}`));
        return;
      }
      options.onBound(path);
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
