// A machine's whole life through bin/driverplug, as a user types it: every
// command exits 0, says what happened, and leaves no plugin, socket or lock.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { expectOk, Sandbox } from "./driverplug-process.js";

let box: Sandbox;
beforeEach(async () => {
  box = await Sandbox.create();
});
afterEach(async () => {
  await box.dispose();
});

describe("driverplug lifecycle on the fake driver", () => {
  it("creates, starts, queries, stops and removes a machine, leaving nothing behind", async () => {
    const create = await box.run([
      "create",
      "--driver",
      "fake",
      "--cpus",
      "3",
      "--network",
      "a,b",
      "--network",
      "c",
      "m1",
    ]);
    expect(create.code, create.stderr).toBe(0);
    expect(create.stderr).toMatch(/\[ 10%\] check: .*\n(.*\n)*.*\[100%\] done: /);
    expect(create.stdout).toMatch(/Machine "m1" created \(driver fake/);
    const saved = await box.readConfig("m1");
    expect(saved).toMatchObject({
      version: 1,
      driver: "fake",
      config: { machineName: "m1", cpus: 3, networks: ["a", "b", "c"] },
    });
    expect(saved.config.storePath).toBe(`${box.store}/machines/m1`);

    expect((await box.run(["status", "m1"])).stdout).toBe("Stopped\n");
    const start = await box.run(["start", "m1"]);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stdout).toMatch(/Machine "m1" started \(state: Running\)/);
    expect((await box.run(["status", "m1"])).stdout).toBe("Running\n");

    const ip = await box.run(["ip", "m1"]);
    expect(ip.stdout).toMatch(/^\d+\.\d+\.\d+\.\d+\n$/);
    expect((await box.run(["url", "m1"])).stdout).toBe(`tcp://${ip.stdout.trim()}:2376\n`);

    const stop = await box.run(["stop", "m1"]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toMatch(/Machine "m1" stopped \(state: Stopped\)/);

    const rm = await box.run(["rm", "m1"]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toBe('Machine "m1" removed.\n');
    expect(await box.machines()).toEqual([]);
    expect(await box.locks()).toEqual([]);
    expect(await box.pluginDirs()).toEqual([]);
  });

  it("changes a stopped machine's config through the driver, which refuses bad values", async () => {
    await expectOk(box, ["create", "--driver", "fake", "m1"]);
    const set = await box.run(["config", "set", "m1", "cpus", "6"]);
    expect(set.code, set.stderr).toBe(0);
    expect((await box.readConfig("m1")).config.cpus).toBe(6);
    const update = await box.run(["config", "update", "m1", '{"memoryMiB": 4096, "diskGiB": 40}']);
    expect(update.code, update.stderr).toBe(0);
    expect((await box.run(["config", "get", "m1", "memoryMiB"])).stdout).toBe("4096\n");

    const before = await box.readConfig("m1");
    const bad = await box.run(["config", "set", "m1", "cpus", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      'driverplug: UpdateConfig failed (INVALID_ARGUMENT): config field "cpus" must be between 1 and 64, got 0\n',
    );
    expect(await box.readConfig("m1")).toEqual(before);
  });

  it("refuses to remove a running machine unless --force, saying how", async () => {
    await expectOk(box, ["create", "--driver", "fake", "m1"]);
    await expectOk(box, ["start", "m1"]);
    const refused = await box.run(["rm", "m1"]);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(
      /^driverplug: Remove failed \(FAILED_PRECONDITION\): .* \(run "driverplug stop m1", then rm again, or "driverplug rm --force m1" to kill it and remove it\)\n$/,
    );
    expect(await box.machines()).toEqual(["m1"]);
    const forced = await box.run(["rm", "--force", "m1"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await box.machines()).toEqual([]);
  });

  it("restarts and kills a machine", async () => {
    await expectOk(box, ["create", "--driver", "fake", "m1"]);
    await expectOk(box, ["start", "m1"]);
    const restart = await box.run(["restart", "m1"]);
    expect(restart.code, restart.stderr).toBe(0);
    expect(restart.stdout).toMatch(/restarted \(state: Running\)/);
    const kill = await box.run(["kill", "m1"]);
    expect(kill.code, kill.stderr).toBe(0);
    expect(kill.stdout).toMatch(/killed \(state: Stopped\)/);
    expect(await box.pluginDirs()).toEqual([]);
  });

  it("answers a query on a stopped machine with the driver's reason", async () => {
    await expectOk(box, ["create", "--driver", "fake", "m1"]);
    const ip = await box.run(["ip", "m1"]);
    expect(ip.code).toBe(4);
    expect(ip.stderr).toMatch(/^driverplug: GetIP failed \(FAILED_PRECONDITION\): .+\n$/);
  });
});
