// The machine lock is held by the kernel for as long as its holder lives: a
// command stopped with SIGSTOP (Ctrl-Z) for longer than any refresh timer
// keeps it, a command killed with SIGKILL frees it at once, and a command
// whose lock file is removed under it stops with a clear error instead of
// carrying on. Real driverplug processes, a fake machine with slow steps.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { isMachineLocked, lockMachine } from "../../src/cli/machine-lock.js";
import { MachineStore } from "../../src/cli/machine-store.js";
import { useSlowMachine } from "../cli/slow-machine.js";
import { Figures } from "../security/figures.js";

const figures = new Figures("lock-holders");
afterAll(() => figures.print());

/** Longer than proper-lockfile's 10 s staleness, which gave a stopped holder's lock away. */
const STOPPED_MS = 11_000;

const slow = useSlowMachine();
const holder = () => slow.holder();

describe("the machine lock's holder", () => {
  it(`keeps the lock while stopped (SIGSTOP) for ${STOPPED_MS / 1000} s`, async () => {
    const r = await holder();
    r.child.kill("SIGSTOP");
    await sleep(STOPPED_MS);
    // Another command's try for the lock, without waiting: still busy, and it names the stopped holder.
    const store = new MachineStore(slow.box.store);
    expect(await isMachineLocked(store, "m1")).toBe(true);
    const err = await lockMachine(store, "m1", { timeoutMs: 0, command: "rm --force m1" }).then(
      async (lock) => {
        await lock.release();
        return new Error("the lock was given away");
      },
      (e: unknown) => e as Error,
    );
    figures.set("stoppedSeconds", STOPPED_MS / 1000);
    expect(err.message).toContain('machine "m1" is busy');
    expect(err.message).toContain(`process ${r.pid}`);
    expect(await slow.box.machines()).toEqual(["m1"]);
    r.child.kill("SIGCONT");
    const done = await r.done;
    expect(done.code, done.stderr).toBe(0);
    figures.add("stoppedHolderKeptLock");
  }, 120_000);

  it("frees the lock the moment its holder is killed (SIGKILL)", async () => {
    const r = await holder();
    r.child.kill("SIGKILL");
    await r.done;
    // No waiting: --lock-timeout 0.
    const after = await slow.box.run(["rm", "--force", "--lock-timeout", "0", "m1"]);
    expect(after.code, after.stderr).toBe(0);
    expect(await slow.box.machines()).toEqual([]);
    expect(await slow.box.locks()).toEqual([]);
    figures.add("killedHolderFreedLock");
  }, 60_000);

  it("stops with a clear error when its lock file is removed while it runs", async () => {
    const r = await holder();
    await rm(join(slow.box.store, "locks", "m1.lock"), { force: true, recursive: true });
    const done = await r.done;
    expect(done.code).toBeGreaterThan(0);
    expect(done.stderr).toContain('lost the lock of machine "m1"');
    expect(done.stdout).not.toContain("started");
    figures.add("lostLockStopped");
  }, 60_000);
});
