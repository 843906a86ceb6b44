// Waiting for a process that is not our child to be gone: its /proc entry
// vanishes, or it is a zombie (dead, waiting for its parent to reap it) whose
// other threads have exited too. QEMU is multi-threaded: its main thread can
// be a zombie while vCPU threads still hold its files, locks and sockets.
import { promises as fs } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

export async function processGone(pid: number): Promise<boolean> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8");
    // The state follows the parenthesised command name, which may itself hold spaces or parentheses.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (state !== "Z" && state !== "X") return false;
    const threads = await fs.readdir(`/proc/${pid}/task`).catch(() => []);
    return threads.length <= 1;
  } catch {
    return true;
  }
}

/** True once the process is gone; false when timeoutMs passed first. */
export async function waitGone(pid: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await processGone(pid)) return true;
    if (Date.now() >= deadline) return false;
    signal?.throwIfAborted();
    await sleep(50, undefined, signal ? { signal } : undefined);
  }
}

export function sigkill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}
