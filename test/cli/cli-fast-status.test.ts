// `driverplug status <machine>` on a warm plugin is answered by bin/driverplug's
// small entry (src/cli/fast/) without loading the full CLI, with the full
// CLI's very answer; whenever anything is not as expected it declines before
// printing a byte and the full CLI runs the command. Which bundle ran is read
// from a preload that notes, at exit, the bundle the code-cache runner ran
// last (the runner names it in process.argv[1]).
import { readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeLockListed } from "../../src/cli/fast/lock-listed.js";
import { isMachineLocked, lockMachine } from "../../src/cli/machine-lock.js";
import { lockPaths } from "../../src/cli/lock-paths.js";
import { MachineStore } from "../../src/cli/machine-store.js";
import { expectOk, isAlive, Sandbox, type Result } from "./driverplug-process.js";

const WARM = { DRIVERPLUG_WARM: "60" };
const FAST_BUNDLE = "driverplug.bundle.cjs";
const FULL_BUNDLE = "driverplug-cli.bundle.cjs";

let box: Sandbox;
let bundleLog: string;
let preload: string;

beforeEach(async () => {
  box = await Sandbox.create();
  bundleLog = join(box.root, "bundles.log");
  preload = join(box.root, "which-bundle.cjs");
  await writeFile(
    preload,
    `process.on("exit", () => require("node:fs").appendFileSync(${JSON.stringify(bundleLog)}, require("node:path").basename(process.argv[1]) + "\\n"));\n`,
  );
  await expectOk(box, ["create", "--driver", "fake", "m1"], { DRIVERPLUG_WARM: "0" });
});

afterEach(async () => {
  await box.run(["plugins", "stop"]);
  await box.dispose();
});

/** Runs the CLI and says which bundle answered. */
async function traced(args: string[], env: Record<string, string> = WARM): Promise<Result & { bundle: string }> {
  await rm(bundleLog, { force: true });
  const r = await box.run(args, { ...env, NODE_OPTIONS: `--require ${preload}` });
  const lines = (await readFile(bundleLog, "utf8")).trim().split("\n");
  return { ...r, bundle: lines.at(-1)! };
}

async function warmPid(): Promise<number> {
  const rows = JSON.parse((await expectOk(box, ["plugins", "--json"])).stdout) as { pid: number }[];
  expect(rows).toHaveLength(1);
  return rows[0]!.pid;
}

describe("status on a warm plugin", () => {
  it("is answered without the full CLI, as the full CLI answers it, on the same plugin", async () => {
    // The first command starts the warm plugin: the full CLI's work.
    expect((await traced(["status", "m1"])).bundle).toBe(FULL_BUNDLE);
    const pid = await warmPid();
    const fast = await traced(["status", "m1"]);
    expect([fast.code, fast.stdout, fast.stderr, fast.bundle]).toEqual([0, "Stopped\n", "", FAST_BUNDLE]);
    const full = await traced(["status", "m1"], { ...WARM, DRIVERPLUG_NO_FAST_PATH: "1" });
    expect([full.stdout, full.bundle]).toEqual([fast.stdout, FULL_BUNDLE]);
    const fastJson = await traced(["status", "--json", "m1"]);
    const fullJson = await traced(["status", "m1", "--json"], { ...WARM, DRIVERPLUG_NO_FAST_PATH: "1" });
    expect(fastJson.bundle).toBe(FAST_BUNDLE);
    expect(JSON.parse(fastJson.stdout)).toEqual({ name: "m1", driver: "fake", state: "Stopped" });
    expect(fastJson.stdout).toBe(fullJson.stdout);
    // A state the driver changed is what it answers: the config is sent as the full CLI sends it.
    await expectOk(box, ["start", "m1"], WARM);
    expect(await traced(["status", "m1"])).toMatchObject({ stdout: "Running\n", bundle: FAST_BUNDLE });
    // Every answer came from the one warm plugin, and its record says it was just used.
    expect(await warmPid()).toBe(pid);
    expect(await box.pluginDirs()).toHaveLength(1);
  });

  it("declines while another command holds the machine's lock: the full CLI asks a plugin of its own", async () => {
    await expectOk(box, ["status", "m1"], WARM);
    const pid = await warmPid();
    const store = new MachineStore(box.store);
    const lock = await lockMachine(store, "m1", { timeoutMs: 5_000, command: "test holds m1" });
    try {
      const r = await traced(["status", "m1"]);
      expect([r.code, r.stdout, r.bundle]).toEqual([0, "Stopped\n", FULL_BUNDLE]);
    } finally {
      await lock.release();
    }
    expect(await warmPid()).toBe(pid);
    expect((await traced(["status", "m1"])).bundle).toBe(FAST_BUNDLE);
  });

  it("declines with no warm plugin, warm plugins off, a dead plugin, or options it does not handle", async () => {
    expect((await traced(["status", "m1"], { DRIVERPLUG_WARM: "0" })).bundle).toBe(FULL_BUNDLE);
    await expectOk(box, ["status", "m1"], WARM);
    expect((await traced(["status", "m1", "--warm", "0"])).bundle).toBe(FULL_BUNDLE);
    expect((await traced(["status", "m1", "--timeout", "20"])).bundle).toBe(FULL_BUNDLE);
    const pid = await warmPid();
    process.kill(pid, "SIGKILL");
    while (isAlive(pid) && !(await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "")).includes(") Z ")) {
      await new Promise((r) => setTimeout(r, 50));
    }
    // The record names a dead pid: declined, and the full CLI starts a fresh plugin.
    const r = await traced(["status", "m1"]);
    expect([r.code, r.stdout, r.bundle]).toEqual([0, "Stopped\n", FULL_BUNDLE]);
    expect(await warmPid()).not.toBe(pid);
    expect((await traced(["status", "m1"])).bundle).toBe(FAST_BUNDLE);
  });

  it("gives up on a warm plugin that stopped answering, and the full CLI answers with a fresh one", async () => {
    await expectOk(box, ["status", "m1"], WARM);
    const pid = await warmPid();
    process.kill(pid, "SIGSTOP");
    try {
      const r = await traced(["status", "m1"]);
      expect([r.code, r.stdout, r.bundle], r.stderr).toEqual([0, "Stopped\n", FULL_BUNDLE]);
      expect(await warmPid()).not.toBe(pid);
    } finally {
      // Left to its idle exit it would outlive the test: ended now, cleaning up after itself.
      process.kill(pid, "SIGCONT");
      process.kill(pid, "SIGTERM");
      while (isAlive(pid) && !(await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "")).includes(") Z ")) {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }, 120_000);

  it("leaves errors to the full CLI: an unknown machine gets its message and exit code", async () => {
    await expectOk(box, ["status", "m1"], WARM);
    const fast = await traced(["status", "nope"]);
    const full = await traced(["status", "nope"], { ...WARM, DRIVERPLUG_NO_FAST_PATH: "1" });
    expect(fast.bundle).toBe(FULL_BUNDLE);
    expect([fast.code, fast.stdout, fast.stderr]).toEqual([full.code, full.stdout, full.stderr]);
    expect(fast.code).not.toBe(0);
    expect(fast.stderr).toMatch(/no machine named "nope"/);
  });
});

describe("the kernel's lock list", () => {
  it("agrees with trying the lock: held, released, never taken", async () => {
    const store = new MachineStore(resolve(box.store));
    const path = lockPaths(store, "m1").lockfilePath;
    expect([await writeLockListed(path), await isMachineLocked(store, "m1")]).toEqual([false, false]);
    const lock = await lockMachine(store, "m1", { timeoutMs: 5_000, command: "test" });
    try {
      expect([await writeLockListed(path), await isMachineLocked(store, "m1")]).toEqual([true, true]);
    } finally {
      await lock.release();
    }
    expect([await writeLockListed(path), await isMachineLocked(store, "m1")]).toEqual([false, false]);
    expect(await writeLockListed(join(box.root, "never-locked.lock"))).toBe(false);
  });
});
