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

/**
 * True once the process is gone; false when timeoutMs passed first. Looked
 * at every 10 ms for the first 2 s (a guest's ACPI power-off takes tens of
 * milliseconds, and a Stop should not wait out a 50 ms step), then every 50 ms.
 */
export async function waitGone(pid: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const since = Date.now();
  const deadline = since + timeoutMs;
  for (;;) {
    if (await processGone(pid)) return true;
    if (Date.now() >= deadline) return false;
    signal?.throwIfAborted();
    await sleep(Date.now() - since < 2_000 ? 10 : 50, undefined, signal ? { signal } : undefined);
  }
}

export function sigkill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}
