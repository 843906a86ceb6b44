// The clean-up every VM test relies on: each QEMU a test store holds is
// killed through its own pidfile (and only while its QEMU holds the pidfile's
// lock), never by name, since other VMs may run on this machine.
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { pidfileStatus } from "../../src/drivers/qemu/pidfile-lock.js";
import { waitGone } from "../../src/drivers/qemu/process-exit.js";

/** Every qemu.pid under a test store, down to machines/<name>/vm. */
async function pidfiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isFile() && e.name === "qemu.pid") out.push(path);
      else if (e.isDirectory() && depth < 5) await walk(path, depth + 1);
    }
  };
  await walk(root, 0);
  return out;
}

/** Kills the QEMU of every pidfile under `root` that its QEMU still locks; returns their pids. */
export async function killTestVms(root: string): Promise<number[]> {
  const killed: number[] = [];
  for (const path of await pidfiles(root)) {
    const status = await pidfileStatus(path);
    if (status.kind !== "locked") continue;
    process.kill(status.pid, "SIGKILL");
    await waitGone(status.pid, 30_000);
    killed.push(status.pid);
  }
  return killed;
}
