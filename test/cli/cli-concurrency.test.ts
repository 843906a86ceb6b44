// Two commands on one machine never interleave (the second waits, or gives up
// naming the holder), and Ctrl-C stops a command cleanly: plugin closed, no
// socket or process left, lock released, the machine as it was or not at all.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { childPids, expectOk, isAlive, Sandbox } from "./driverplug-process.js";

let box: Sandbox;
beforeEach(async () => {
  box = await Sandbox.create();
});
afterEach(async () => {
  await box.dispose();
});

const slowCreate = (name: string, stepDelayMs: number) => [
  "create",
  "--driver",
  "fake",
  "--config",
  JSON.stringify({ stepDelayMs }),
  name,
];

describe("per-machine lock", () => {
  it("makes a second command fail after --lock-timeout, naming the machine and the command holding it", async () => {
    // Slow enough to outlast the checks on a loaded machine; Ctrl-C ends it.
    const create = box.start(slowCreate("m1", 5_000));
    await create.waitForStderr(/\[ 10%\]/);
    const stop = await box.run(["stop", "m1", "--lock-timeout", "0.3"]);
    expect(stop.code).toBe(4);
    expect(stop.stderr).toMatch(
      new RegExp(
        `^driverplug: machine "m1" is busy: process ${create.pid} \\("driverplug create m1", since [^)]+\\) holds its lock \\S+m1\\.lock; wait for it to finish, or give more time with --lock-timeout <seconds>\\n$`,
      ),
    );
    const ls = await box.run(["ls"]);
    expect(ls.stdout).toMatch(/^m1 +- +Creating/m);
    create.child.kill("SIGINT");
    expect((await create.done).code).toBe(130);
  });

  it("makes a second command wait for the first, then run on the machine the first left", async () => {
    const create = box.start(slowCreate("m1", 200));
    await create.waitForStderr(/\[ 10%\]/);
    const start = box.start(["start", "m1"]);
    const [created, started] = await Promise.all([create.done, start.done]);
    expect(created.code, created.stderr).toBe(0);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toMatch(/Machine "m1" started \(state: Running\)/);
    expect(await box.locks()).toEqual([]);
  });

  it("loses no change when several commands update one machine's config at once", async () => {
    await expectOk(box, ["create", "--driver", "fake", "m1"]);
    const results = await Promise.all([
      box.run(["config", "set", "m1", "cpus", "3"]),
      box.run(["config", "set", "m1", "memoryMiB", "4096"]),
      box.run(["config", "set", "m1", "diskGiB", "40"]),
      box.run(["config", "update", "m1", '{"networks": ["a", "b"]}']),
    ]);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect((await box.readConfig("m1")).config).toMatchObject({
      cpus: 3,
      memoryMiB: 4096,
      diskGiB: 40,
      networks: ["a", "b"],
    });
    expect(await box.locks()).toEqual([]);
  });
});

describe("Ctrl-C", () => {
  it("during a slow create closes the plugin, removes its socket, leaves no machine and releases the lock", async () => {
    const create = box.start(slowCreate("m1", 5_000));
    await create.waitForStderr(/\[ 10%\]/);
    const plugins = await childPids(create.pid);
    expect(plugins).toHaveLength(1);
    expect(await box.pluginDirs()).toHaveLength(1);
    expect(await box.locks()).toContain("m1.lock");

    create.child.kill("SIGINT");
    const result = await create.done;
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(
      /driverplug: interrupted by Ctrl-C: stopped cleanly, no plugin left running and no lock held\n$/,
    );
    expect(isAlive(plugins[0]!)).toBe(false);
    expect(await box.pluginDirs()).toEqual([]);
    expect(await box.machines()).toEqual([]);
    expect(await box.locks()).toEqual([]);

    // Nothing half-made is in the way of trying again.
    const again = await box.run(["create", "--driver", "fake", "m1"]);
    expect(again.code, again.stderr).toBe(0);
  });

  it("during a slow start leaves the machine in a resting state with a valid config", async () => {
    await expectOk(box, ["create", "--driver", "fake", "m1"]);
    await expectOk(box, ["config", "set", "m1", "stepDelayMs", "5000"]);
    const before = await box.readConfig("m1");
    const start = box.start(["start", "m1"]);
    await start.waitForStderr(/\[ 25%\]/);
    const plugins = await childPids(start.pid);
    const interruptedAt = Date.now();
    start.child.kill("SIGINT");
    const result = await start.done;
    // Closing is prompt: the plugin's graceful stop, not the 2 s + 2 s escalation.
    expect(Date.now() - interruptedAt).toBeLessThan(2_000);
    expect(result.code).toBe(130);
    expect(plugins.every((pid) => !isAlive(pid))).toBe(true);
    expect(await box.pluginDirs()).toEqual([]);
    expect(await box.locks()).toEqual([]);
    expect(await box.readConfig("m1")).toEqual(before);
    const status = await box.run(["status", "m1"]);
    expect(status.stdout).toMatch(/^(Stopped|Running)\n$/);
  });
});
