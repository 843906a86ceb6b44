// `rm` on a machine whose lock another live command holds (here a `start`
// stopped with SIGSTOP, so it cannot let go): it gives up with the busy error
// naming the holder and the precondition exit code, after --lock-timeout or at
// once with 0, and leaves no plugin behind. The CLI starts the machine's
// plugin while it parses; a lock that failed fast used to close the plugins
// before that start, which then kept the CLI alive for ever.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isAlive, type Result, type Running } from "./driverplug-process.js";
import { useSlowMachine } from "./slow-machine.js";

/** Far longer than any rm needs, even on a loaded machine: past it the rm hangs. */
const HANG_MS = 60_000;

const slow = useSlowMachine();

/** `start m1`, stopped (SIGSTOP) while it holds the lock and its first step runs. */
async function stoppedHolder(): Promise<Running> {
  const r = await slow.holder();
  r.child.kill("SIGSTOP");
  return r;
}

/** Runs driverplug; one still running after HANG_MS is killed and reported as hung. */
async function runBounded(args: readonly string[]): Promise<Result & { hung: boolean }> {
  const r = slow.track(slow.box.start(args));
  let timer: NodeJS.Timeout | undefined;
  const hung = await Promise.race([
    r.done.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), HANG_MS))),
  ]);
  clearTimeout(timer);
  if (hung) r.child.kill("SIGKILL");
  return { ...(await r.done), hung };
}

/** Plugin dirs under the socket base dir other than the holder's, and live pids named by their sockets. */
async function leftovers(holder: Running): Promise<{ dirs: string[]; livePlugins: number[] }> {
  const dirs = (await slow.box.pluginDirs()).filter((d) => !d.startsWith(`h${holder.pid}-`));
  const livePlugins: number[] = [];
  for (const dir of dirs) {
    for (const sock of await readdir(join(slow.box.runtimeDir, "driverplug", dir)).catch(() => [])) {
      const pid = Number(/-(\d+)-[^-]+\.sock$/.exec(sock)?.[1]);
      if (pid > 0 && isAlive(pid)) livePlugins.push(pid);
    }
  }
  return { dirs, livePlugins };
}

function expectBusy(r: Result & { hung: boolean }, holder: Running): void {
  expect(r.hung, `rm did not end within ${HANG_MS / 1000} s; stderr: ${r.stderr}`).toBe(false);
  expect(r.code, r.stderr).toBe(4);
  expect(r.stderr).toMatch(
    new RegExp(
      `^driverplug: machine "m1" is busy: process ${holder.pid} \\("driverplug start m1", since [^)]+\\) holds its lock \\S+m1\\.lock; wait for it to finish, or give more time with --lock-timeout <seconds>\\n$`,
    ),
  );
}

describe("rm while another command holds the machine's lock", () => {
  it("fails at once with --lock-timeout 0, naming the holder, and leaves no plugin behind", async () => {
    const holder = await stoppedHolder();
    // Several tries: the plugin's early start and the lock's failure race each other.
    for (let i = 0; i < 3; i++) {
      const rm = await runBounded(["rm", "--force", "--lock-timeout", "0", "m1"]);
      expectBusy(rm, holder);
      expect(await leftovers(holder)).toEqual({ dirs: [], livePlugins: [] });
    }
    expect(await slow.box.machines()).toEqual(["m1"]);
    // The holder was never disturbed: let it go on, and it finishes its start.
    holder.child.kill("SIGCONT");
    const started = await holder.done;
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toContain('Machine "m1" started');
    const rm = await runBounded(["rm", "--force", "--lock-timeout", "0", "m1"]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(await slow.box.machines()).toEqual([]);
    expect(await slow.box.locks()).toEqual([]);
    expect(await slow.box.pluginDirs()).toEqual([]);
  }, 240_000);

  it("gives up after --lock-timeout while the holder still holds it, and leaves no plugin behind", async () => {
    const holder = await stoppedHolder();
    const rm = await runBounded(["rm", "--force", "--lock-timeout", "2", "m1"]);
    expectBusy(rm, holder);
    // It ended on its own timeout: the stopped holder could not have let go meanwhile.
    expect(isAlive(holder.pid)).toBe(true);
    expect(await leftovers(holder)).toEqual({ dirs: [], livePlugins: [] });
    expect(await slow.box.machines()).toEqual(["m1"]);
  }, 240_000);
});
