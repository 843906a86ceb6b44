// The permission checks a socket directory must pass before anything is
// created in it: the directory itself and every ancestor (OpenSSH
// StrictModes style). A failure names the directory, what was found and the fix.
import { promises as fs, type Stats } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";

export class SocketDirError extends Error {
  override name = "SocketDirError";
  constructor(
    readonly dir: string,
    message: string,
  ) {
    super(message);
  }
}

export interface DirPolicy {
  /** The uid that must own the directory; default: the effective uid. */
  uid?: number;
  /** With PLUGIN_UNIX_SOCKET_GROUP: the directory's group may have access if it is this gid. */
  gid?: number;
  /** What the directory is, for messages; default "socket directory" (the store says "machine store directory"). */
  label?: string;
}

/** A directory that passed the checks; dev/ino let a later check see a swap. */
export interface CheckedDir {
  path: string;
  dev: number;
  ino: number;
}

const STICKY = 0o1000;

const octal = (mode: number) => `0${(mode & 0o7777).toString(8)}`;

export function effectiveUid(): number {
  return process.geteuid?.() ?? 0;
}

/** Checks an existing directory and its ancestors. */
export async function checkPrivateDir(dir: string, policy: DirPolicy = {}): Promise<CheckedDir> {
  if (!isAbsolute(dir)) {
    throw new SocketDirError(
      dir,
      `${policy.label ?? "socket directory"} ${JSON.stringify(dir)} is relative; give an absolute path`,
    );
  }
  const label = policy.label ?? "socket directory";
  let st: Stats;
  try {
    st = await fs.lstat(dir);
  } catch (err) {
    throw new SocketDirError(dir, `${label} ${dir} cannot be read: ${(err as Error).message}`);
  }
  return checkStatedDir(dir, st, policy);
}

/** checkPrivateDir() once `dir`'s lstat is known. */
async function checkStatedDir(dir: string, st: Stats, policy: DirPolicy): Promise<CheckedDir> {
  await checkDirStats(dir, st, policy);
  // The ancestors are looked up with the real path: when the path holds no symlink (the usual
  // case) they are the real path's, and no second lookup follows.
  const [real, asGiven] = await Promise.all([fs.realpath(dir), lookUpAncestors(dir)]);
  const uid = policy.uid ?? effectiveUid();
  judgeAncestors(real, real === dir ? asGiven : await lookUpAncestors(real), uid, policy.label ?? "socket directory");
  return { path: real, dev: st.dev, ino: st.ino };
}

/**
 * The directory's own checks (not a symlink, a directory, its owner, its
 * mode) on its lstat, without its ancestors: checkPrivateDir's whole check
 * for a directory whose parent passed checkPrivateDir (the entry, not being
 * a symlink, has the parent's real path and the parent's ancestors above it).
 */
export async function checkDirStats(dir: string, st: Stats, policy: DirPolicy = {}): Promise<void> {
  const uid = policy.uid ?? effectiveUid();
  const label = policy.label ?? "socket directory";
  if (st.isSymbolicLink()) {
    const target = await fs.readlink(dir).catch(() => "?");
    throw new SocketDirError(
      dir,
      `${label} ${dir} is a symlink to ${target}; a symlink can be redirected by whoever owns it: use a real directory you own (remove the link)`,
    );
  }
  if (!st.isDirectory()) {
    throw new SocketDirError(
      dir,
      `${label} ${dir} is not a directory (${kind(st)}); remove it or choose another directory`,
    );
  }
  if (st.uid !== uid) {
    throw new SocketDirError(
      dir,
      `${label} ${dir} is owned by uid ${st.uid}, not by this user (uid ${uid}); another user could watch or replace what is in it: remove it (or have its owner remove it) and let driverplug create it, or choose a directory you own`,
    );
  }
  checkMode(dir, st, policy, label);
}

function checkMode(dir: string, st: Stats, policy: DirPolicy, label: string): void {
  const mode = st.mode & 0o777;
  if (policy.gid !== undefined) {
    if (st.gid !== policy.gid) {
      throw new SocketDirError(
        dir,
        `${label} ${dir} has group ${st.gid}, not the socket group ${policy.gid}; chgrp ${policy.gid} ${dir}`,
      );
    }
    if ((mode & 0o007) !== 0 || (mode & 0o020) !== 0) {
      throw new SocketDirError(
        dir,
        `${label} ${dir} has mode ${octal(mode)}, which lets others in or lets the group write; chmod 0710 ${dir}`,
      );
    }
    return;
  }
  if ((mode & 0o077) !== 0) {
    throw new SocketDirError(
      dir,
      `${label} ${dir} has mode ${octal(mode)}, which gives group or other users access; chmod 0700 ${dir}`,
    );
  }
}

/**
 * Every ancestor of `realDir` (a real path) must be owned by root or `uid` and
 * not be writable by group or others unless sticky, as OpenSSH's StrictModes.
 */
export async function checkAncestors(realDir: string, uid: number, label = "socket directory"): Promise<void> {
  judgeAncestors(realDir, await lookUpAncestors(realDir), uid, label);
}

interface Ancestors {
  paths: string[];
  stats: PromiseSettledResult<Stats>[];
}

/** Every ancestor of `dir`, nearest first, with its stat: looked up together. */
async function lookUpAncestors(dir: string): Promise<Ancestors> {
  const paths: string[] = [];
  for (let p = dirname(dir); ; p = dirname(p)) {
    paths.push(p);
    if (p === dirname(p)) break;
  }
  return { paths, stats: await Promise.allSettled(paths.map((p) => fs.stat(p))) };
}

/** Judged nearest first: the verdict (and its message) is the walk's. */
function judgeAncestors(realDir: string, { paths, stats }: Ancestors, uid: number, label: string): void {
  for (const [i, p] of paths.entries()) {
    const result = stats[i]!;
    if (result.status === "rejected") throw result.reason;
    const st = result.value;
    if (st.uid !== 0 && st.uid !== uid) {
      throw new SocketDirError(
        realDir,
        `ancestor ${p} of ${label} ${realDir} is owned by uid ${st.uid}, neither root nor this user; its owner could replace the directory: choose a ${label} under a path you or root own`,
      );
    }
    const sticky = (st.mode & STICKY) !== 0;
    if ((st.mode & 0o022) !== 0 && !sticky) {
      throw new SocketDirError(
        realDir,
        `ancestor ${p} of ${label} ${realDir} has mode ${octal(st.mode)}: writable by group or others without the sticky bit, so they could replace the directory; chmod go-w ${p} (or chmod +t ${p}), or choose another ${label}`,
      );
    }
  }
}

function kind(st: Stats): string {
  if (st.isFile()) return "a regular file";
  if (st.isSocket()) return "a socket";
  if (st.isFIFO()) return "a FIFO";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  return "not a directory";
}

/**
 * Creates the directory 0700 if it is missing (its parent must exist, unless
 * `makeParents`: then missing parents are made 0700 too), then checks it. An
 * existing directory is never chmod-ed into shape: a wrong one is refused,
 * since someone else may have made it.
 */
export async function ensurePrivateDir(
  dir: string,
  policy: DirPolicy = {},
  { makeParents = false }: { makeParents?: boolean } = {},
): Promise<CheckedDir> {
  if (!isAbsolute(dir)) {
    throw new SocketDirError(
      dir,
      `${policy.label ?? "socket directory"} ${JSON.stringify(dir)} is relative; give an absolute path`,
    );
  }
  // One that exists (the usual case) is only checked.
  const existing = await fs.lstat(dir).catch(() => undefined);
  if (existing !== undefined) return checkStatedDir(dir, existing, policy);
  return makeThenCheck(dir, dir, policy, () => checkPrivateDir(dir, policy), makeParents);
}

/**
 * ensurePrivateDir() for the entry `name` of `parent`, a directory that passed
 * checkPrivateDir() (or ensurePrivateDir()) in this process: the entry's
 * ancestors are `parent` and those checked with it, so only the entry itself
 * is checked (checkDirStats), not the same ancestors again. It is made and
 * checked in `parent`'s real path; messages name it `dir`, the path as the
 * caller knows it.
 */
export async function ensurePrivateChildDir(
  parent: CheckedDir,
  name: string,
  policy: DirPolicy = {},
  dir = join(parent.path, name),
): Promise<CheckedDir> {
  if (name === "" || name === "." || name === ".." || name.includes("/"))
    throw new Error(`ensurePrivateChildDir: ${JSON.stringify(name)} is not the name of an entry`);
  const real = join(parent.path, name);
  return makeThenCheck(real, dir, policy, async () => {
    const st = await fs.lstat(real);
    await checkDirStats(dir, st, policy);
    return { path: real, dev: st.dev, ino: st.ino };
  });
}

/**
 * Makes `path` 0700 (0710 and the socket group's, with one) unless it exists,
 * then runs `check`. A directory made here that `check` refuses (e.g. under
 * an ancestor others can write) is removed again. `shown` names it in messages.
 */
async function makeThenCheck(
  path: string,
  shown: string,
  policy: DirPolicy,
  check: () => Promise<CheckedDir>,
  makeParents = false,
): Promise<CheckedDir> {
  let created = false;
  try {
    if (makeParents) await fs.mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await fs.mkdir(path, { mode: 0o700 });
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
      throw new SocketDirError(
        shown,
        `cannot create ${policy.label ?? "socket directory"} ${shown}: ${(err as Error).message}`,
      );
    }
  }
  try {
    if (created && policy.gid !== undefined) {
      await fs.chown(path, -1, policy.gid);
      await fs.chmod(path, 0o710);
    }
    return await check();
  } catch (err) {
    if (created) await fs.rmdir(path).catch(() => undefined);
    throw err;
  }
}

/**
 * Re-checks, after the socket was bound, that the directory is still the one
 * that was checked (not swapped for a symlink or another directory).
 */
export async function assertDirUnchanged(checked: CheckedDir): Promise<void> {
  const st = await fs.lstat(checked.path).catch(() => undefined);
  if (!st || st.isSymbolicLink() || !st.isDirectory() || st.dev !== checked.dev || st.ino !== checked.ino) {
    throw new SocketDirError(
      checked.path,
      `socket directory ${checked.path} was replaced while the socket was being created; someone is tampering with it: check its ancestors' permissions`,
    );
  }
}
