// Is the QEMU of a pidfile alive? QEMU holds a POSIX write lock on its pidfile
// for as long as it runs, and the kernel lists it in /proc/locks with the
// holder's pid and the file's device and inode. A pid alone is not proof: after
// a crash or a reboot the pid in a stale pidfile may belong to any process.
// The lock is: it vanishes with the process, and nobody else holds it.
import { promises as fs } from "node:fs";

export interface PidfileOwner {
  pid: number;
}

/** A parsed /proc/locks line: "1: POSIX  ADVISORY  WRITE 1234 00:2b:56789 0 EOF". */
export interface LockEntry {
  kind: string;
  access: string;
  pid: number;
  major: number;
  minor: number;
  inode: number;
}

export function parseProcLocks(text: string): LockEntry[] {
  const out: LockEntry[] = [];
  for (const line of text.split("\n")) {
    // A blocked waiter is shown as "1: -> POSIX ..."; it holds nothing.
    const m = /^\d+:\s+(\S+)\s+\S+\s+(\S+)\s+(\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/i.exec(line);
    if (!m) continue;
    out.push({
      kind: m[1]!,
      access: m[2]!,
      pid: Number(m[3]),
      major: parseInt(m[4]!, 16),
      minor: parseInt(m[5]!, 16),
      inode: Number(m[6]),
    });
  }
  return out;
}

/** Linux's encoding of a dev_t, as stat() gives it, split into major and minor. */
export function splitDev(dev: number): { major: number; minor: number } {
  const big = BigInt(dev);
  const major = Number(((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn));
  const minor = Number((big & 0xffn) | ((big >> 12n) & ~0xffn));
  return { major, minor };
}

export type PidfileStatus =
  /** No pidfile: nothing was launched, or it was cleaned. */
  | { kind: "absent" }
  /** Its process holds the write lock: the VM runs. */
  | { kind: "locked"; pid: number }
  /** A pidfile nobody locks: the VM died (crash, SIGKILL, reboot) and left it behind. */
  | { kind: "stale"; pid: number | undefined }
  /** Empty and fresh: QEMU is between creating the file and writing its pid. */
  | { kind: "forming" };

/** How long an empty, unlocked pidfile may be "being written" before it counts as stale. */
const FORMING_GRACE_MS = 10_000;

export async function pidfileStatus(path: string, procLocks = "/proc/locks"): Promise<PidfileStatus> {
  let text: string;
  let st;
  try {
    // lstat, not stat: a symlink planted in the machine's directory is never followed.
    st = await fs.lstat(path);
    if (!st.isFile()) return { kind: "stale", pid: undefined };
    text = await fs.readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { kind: "absent" };
    throw err;
  }
  const pid = /^\s*(\d+)\s*$/.test(text) ? Number(text.trim()) : undefined;
  const { major, minor } = splitDev(st.dev);
  const locks = parseProcLocks(await fs.readFile(procLocks, "utf8"));
  const holder = locks.find(
    (l) => l.kind === "POSIX" && l.access === "WRITE" && l.inode === st.ino && l.major === major && l.minor === minor,
  );
  if (holder && (pid === undefined || holder.pid === pid)) return { kind: "locked", pid: holder.pid };
  // QEMU locks the file before it writes the pid, so a pid with no lock is a dead VM's.
  if (pid === undefined && Date.now() - st.mtimeMs < FORMING_GRACE_MS) return { kind: "forming" };
  return { kind: "stale", pid };
}

/** Whether a process with this pid exists (any owner). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
