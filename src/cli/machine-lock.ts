// One lock per machine, so two driverplug commands never drive or rewrite the
// same machine at once: the second waits, and gives up after a timeout with a
// message naming the machine and the process holding it.
//
// The kernel holds the lock: an open file description lock (Linux F_OFD_SETLK;
// flock on macOS) on <store>/locks/<name>.lock, through fs-native-extensions
// (Holepunch's small addon with prebuilt binaries for Linux, macOS and
// Windows, no install script; Node has no flock of its own). A lock is never
// "stale" while its holder lives, however long it is stopped (Ctrl-Z) or
// blocked on a terminal, and it is free the moment the holder dies, since the
// kernel drops it with the last descriptor. A timer-refreshed lock
// (proper-lockfile) was given away after 10 s without a refresh.
//
// Lock files are removed on release. A waiter may then hold a lock on the
// unlinked file, so a lock counts only if the path still names the locked
// file afterwards (same inode); otherwise it is retried. While held, the path
// is checked every second: if someone removed or replaced the lock file the
// command stops with a clear error (`lost`) instead of carrying on unguarded.
import fsx from "fs-native-extensions";
import { constants } from "node:fs";
import { lstat, open, readFile, rm, type FileHandle } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import { writeFileAtomic } from "../fs/atomic-write.js";
import { effectiveUid } from "../socket/private-dir.js";
import { CliError, EXIT_PRECONDITION } from "./cli-error.js";
import { isDiskFull } from "./disk-full.js";
import type { MachineStore } from "./machine-store.js";
import { lockPaths } from "./lock-paths.js";

const POLL_MS = 50;
const WATCH_MS = 1000;

export interface LockHolder {
  pid: number;
  command: string;
  since: string;
}

export interface MachineLock {
  /** Idempotent; never throws (a lock already gone is fine). */
  release(): Promise<void>;
  /** Aborted, with a CliError saying so, if the lock file was removed or replaced while held. */
  readonly lost: AbortSignal;
  /** Throws that CliError if the lock was lost. */
  assertHeld(): void;
}

export interface LockOptions {
  /** How long to wait for another command to finish; 0 fails at once. */
  timeoutMs: number;
  /** What this process is doing, shown to a command that waits for it. */
  command: string;
  signal?: AbortSignal;
}

/** Opens (creating 0600) the lock file without following a symlink; only a regular file of ours. */
async function openLockFile(path: string): Promise<FileHandle> {
  const file = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  const st = await file.stat();
  if (!st.isFile() || st.uid !== effectiveUid()) {
    await file.close();
    throw new CliError(`lock file ${path} is not a regular file of this user; remove it`, EXIT_PRECONDITION);
  }
  return file;
}

/** The open file is still the one the path names (not unlinked by a releasing holder, not replaced). */
async function stillNamed(path: string, file: FileHandle): Promise<boolean> {
  const [a, b] = await Promise.all([file.stat(), lstat(path).catch(() => undefined)]);
  return b !== undefined && a.dev === b.dev && a.ino === b.ino;
}

/** Takes the lock if it is free right now; undefined if another process holds it. */
async function tryTake(path: string): Promise<FileHandle | undefined> {
  for (;;) {
    const file = await openLockFile(path);
    if (!fsx.tryLock(file.fd)) {
      await file.close();
      return undefined;
    }
    if (await stillNamed(path, file)) return file;
    // We locked a file its holder just removed: try the path's new file.
    await file.close();
  }
}

export async function lockMachine(store: MachineStore, name: string, options: LockOptions): Promise<MachineLock> {
  const p = lockPaths(store, name);
  await store.checkLayout();
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    const file = await tryTake(p.lockfilePath);
    if (file) {
      const lock = heldLock(name, p.lockfilePath, p.holder, file);
      const holder: LockHolder = { pid: process.pid, command: options.command, since: new Date().toISOString() };
      try {
        await writeFileAtomic(p.holder, `${JSON.stringify(holder)}\n`);
      } catch (err) {
        // Who holds the lock is only shown to a waiting command: a full disk must not stop this one
        // (rm is how the user frees space). Anything else gives the lock back and fails.
        if (!isDiskFull(err)) {
          await lock.release();
          throw err;
        }
      }
      return lock;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw await busyError(store, name);
    await delay(Math.min(POLL_MS, left), undefined, { signal: options.signal });
  }
}

function heldLock(name: string, lockfilePath: string, holderPath: string, file: FileHandle): MachineLock {
  const lost = new AbortController();
  const lostError = () =>
    new CliError(
      `lost the lock of machine ${JSON.stringify(name)}: ${lockfilePath} was removed or replaced while this command held it, ` +
        `so another command may be changing the machine; this one stopped: check it with "driverplug status ${name}"`,
      EXIT_PRECONDITION,
    );
  const watch = setInterval(() => {
    void stillNamed(lockfilePath, file).then((named) => {
      if (!named && !lost.signal.aborted) lost.abort(lostError());
    });
  }, WATCH_MS);
  watch.unref();
  let done: Promise<void> | undefined;
  return {
    lost: lost.signal,
    assertHeld() {
      if (lost.signal.aborted) throw lost.signal.reason;
    },
    release: () =>
      (done ??= (async () => {
        clearInterval(watch);
        // Unlinked while still locked, so nobody can lock this file after we let go of it.
        if (await stillNamed(lockfilePath, file).catch(() => false)) {
          await rm(holderPath, { force: true });
          await rm(lockfilePath, { force: true });
        }
        await file.close().catch(() => undefined);
      })()),
  };
}

/** Whether another process holds the machine's lock right now. */
export async function isMachineLocked(store: MachineStore, name: string): Promise<boolean> {
  const { lockfilePath } = lockPaths(store, name);
  let file: FileHandle;
  try {
    file = await open(lockfilePath, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return false;
  }
  try {
    if (!fsx.tryLock(file.fd, 0, 0, { shared: true })) return true;
    fsx.unlock(file.fd);
    return false;
  } finally {
    await file.close();
  }
}

export async function readLockHolder(store: MachineStore, name: string): Promise<LockHolder | undefined> {
  try {
    const value = JSON.parse(await readFile(lockPaths(store, name).holder, "utf8")) as Partial<LockHolder>;
    if (typeof value.pid === "number" && typeof value.command === "string" && typeof value.since === "string") {
      return value as LockHolder;
    }
  } catch {
    // Missing or half-written: the holder is just not known.
  }
  return undefined;
}

async function busyError(store: MachineStore, name: string): Promise<CliError> {
  const holder = await readLockHolder(store, name);
  const who =
    holder === undefined
      ? "another driverplug command"
      : `process ${holder.pid} (${JSON.stringify(holder.command)}, since ${holder.since})`;
  return new CliError(
    `machine ${JSON.stringify(name)} is busy: ${who} holds its lock ${lockPaths(store, name).lockfilePath}; ` +
      `wait for it to finish, or give more time with --lock-timeout <seconds>`,
    EXIT_PRECONDITION,
  );
}
