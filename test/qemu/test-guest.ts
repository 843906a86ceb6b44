// The VM tests' guest bundle: $DRIVERPLUG_TEST_GUEST when set (CI builds it
// once), else what `make guest` builds (cached; it prints the bundle's path on
// its last line). Also the clean-up every VM test relies on: each QEMU a test
// store holds is killed through its own pidfile, never by name, since other
// VMs may run on this machine.
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pidfileStatus } from "../../src/drivers/qemu/pidfile-lock.js";
import { waitGone } from "../../src/drivers/qemu/process-exit.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

export async function testGuest(): Promise<string> {
  const given = process.env.DRIVERPLUG_TEST_GUEST;
  const dir =
    given !== undefined && given !== ""
      ? given
      : await new Promise<string>((resolve, reject) => {
          execFile(
            "bash",
            [join(REPO, "scripts/guest/build-guest.sh")],
            { cwd: REPO, maxBuffer: 8 << 20 },
            (err, stdout, stderr) => {
              if (err) reject(new Error(`make guest failed: ${stderr.slice(-2000)}`));
              else resolve(stdout.trim().split("\n").at(-1)!.trim());
            },
          );
        });
  await fs.access(join(dir, "bundle.json")).catch(() => {
    throw new Error(`the test guest ${dir} has no bundle.json: run \`make guest\`, or fix DRIVERPLUG_TEST_GUEST`);
  });
  return dir;
}

/** Every vm/qemu.pid under a test store, at any depth up to machines/<name>/vm. */
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
