// A folder that only this user (or root) can change, for the files a command
// writes there that the user later runs: a driver project's package.json and
// npm scripts (`driverplug new-driver --dir`), a plugin executable
// (`driverplug bundle`). Anyone else who can write the folder, or an ancestor
// without the sticky bit, could swap those files for their own between the
// write and the run, so such a folder is refused with the reason and the fix.
import { promises as fs, type Stats } from "node:fs";
import { dirname, resolve } from "node:path";
import { checkAncestors, effectiveUid, SocketDirError } from "../socket/private-dir.js";

/** A folder refused, or one that cannot be used; the message says why and what to do. */
export class FolderRefused extends Error {
  override name = "FolderRefused";
  constructor(
    readonly dir: string,
    message: string,
    /** What the user gave: not a folder at all (a file), rather than a folder others can change. */
    readonly notAFolder = false,
  ) {
    super(message);
  }
}

const octal = (mode: number) => `0${(mode & 0o7777).toString(8)}`;

/** Checks an existing folder and its ancestors; returns its real path. */
export async function checkOwnFolder(dir: string, label: string): Promise<string> {
  const path = resolve(dir);
  const uid = effectiveUid();
  let st: Stats;
  try {
    st = await fs.lstat(path);
  } catch (err) {
    throw new FolderRefused(path, `${label} ${path} cannot be read: ${(err as Error).message}`);
  }
  if (st.isSymbolicLink())
    throw new FolderRefused(
      path,
      `${label} ${path} is a symlink (to ${await fs.readlink(path).catch(() => "?")}); give the folder it points to`,
    );
  if (!st.isDirectory())
    throw new FolderRefused(path, `${label} ${path} is ${kind(st)}, not a folder: give a folder`, true);
  if (st.uid !== uid)
    throw new FolderRefused(
      path,
      `${label} ${path} belongs to uid ${st.uid}, not to you (uid ${uid}): its owner could change what is written there before you use it; choose a folder of your own`,
    );
  if ((st.mode & 0o022) !== 0)
    throw new FolderRefused(
      path,
      `${label} ${path} has mode ${octal(st.mode)}: group or other users can write it, and could change what is written there before you use it; chmod go-w ${path}, or choose another folder`,
    );
  const real = await fs.realpath(path);
  try {
    await checkAncestors(real, uid, label);
  } catch (err) {
    if (err instanceof SocketDirError) throw new FolderRefused(path, err.message);
    throw err;
  }
  return real;
}

/**
 * The folder, made (with any missing parents) if it does not exist, then
 * checked; a folder made here and then refused is removed again.
 */
export async function ensureOwnFolder(dir: string, label: string): Promise<string> {
  const path = resolve(dir);
  let firstMade: string | undefined;
  try {
    firstMade = await fs.mkdir(path, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR" || code === "EEXIST")
      throw new FolderRefused(path, `${label} ${path} is not a folder (it or a parent is a file): give a folder`, true);
    throw new FolderRefused(path, `cannot make ${label} ${path}: ${(err as Error).message}`);
  }
  try {
    return await checkOwnFolder(path, label);
  } catch (err) {
    if (firstMade !== undefined) await removeMade(firstMade, path);
    throw err;
  }
}

/** Removes the empty folders from `path` up to `top`, the first one mkdir made. */
async function removeMade(top: string, path: string): Promise<void> {
  for (let p = path; ; p = dirname(p)) {
    await fs.rmdir(p).catch(() => undefined);
    if (p === top || p === dirname(p)) return;
  }
}

function kind(st: Stats): string {
  if (st.isFile()) return "a file";
  if (st.isFIFO()) return "a FIFO";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  return "not a folder";
}
