// `driverplug ls`: one row per machine whatever its state, read in parallel,
// with a per-machine timeout so a stuck driver cannot stall the list.
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { expectOk, Sandbox } from "./driverplug-process.js";

let box: Sandbox;
beforeEach(async () => {
  box = await Sandbox.create();
});
afterEach(async () => {
  await box.dispose();
});

describe("driverplug ls", () => {
  it("says how to make a machine when the store is empty", async () => {
    const r = await box.run(["ls"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^No machines in .*; "driverplug create --driver <driver> <name>" makes one \("driverplug drivers" lists the drivers\)\.\n$/,
    );
    const json = await expectOk(box, ["ls", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual([]);
  });

  it("shows running, stopped, interrupted and stuck machines side by side, within the per-machine timeout", async () => {
    await Promise.all([box.run(["create", "--driver", "fake", "up"]), box.run(["create", "--driver", "fake", "down"])]);
    await expectOk(box, ["start", "up"]);
    // What an interrupted create leaves when it is killed outright: a directory with no config.json.
    await mkdir(join(box.store, "machines", "half"), { mode: 0o700 });
    // A machine whose driver never answers.
    const pluginDir = join(box.root, "plugins");
    await mkdir(pluginDir);
    await writeFile(join(pluginDir, "driverplug-driver-hang"), "#!/bin/sh\nexec sleep 30\n");
    await chmod(join(pluginDir, "driverplug-driver-hang"), 0o755);
    await mkdir(join(box.store, "machines", "stuck"), { mode: 0o700 });
    await writeFile(box.configPath("stuck"), JSON.stringify({ version: 1, driver: "hang", config: {} }));

    const started = Date.now();
    // Generous enough for three plugins starting at once on a loaded 2-core machine.
    const r = await box.run(["ls", "--timeout", "4"], { DRIVERPLUG_PLUGIN_DIRS: pluginDir });
    const elapsed = Date.now() - started;
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME +DRIVER +STATE +IP +ERROR$/);
    expect(lines[1]).toMatch(/^down +fake +Stopped +-$/);
    expect(lines[2]).toMatch(/^half +- +Error +- +no config\.json \(interrupted create\?\): driverplug rm half$/);
    expect(lines[3]).toMatch(/^stuck +hang +Timeout +- +no answer within 4 s$/);
    expect(lines[4]).toMatch(/^up +fake +Running +\d+\.\d+\.\d+\.\d+$/);
    // The stuck driver's own start would take 30 s: the per-machine timeout cut it short.
    expect(elapsed).toBeLessThan(9_000);
    expect(await box.pluginDirs()).toEqual([]);

    await rm(join(box.store, "machines", "stuck"), { recursive: true });
    const json = JSON.parse((await box.run(["ls", "--json"])).stdout) as { name: string; state: string }[];
    expect(json.map((m) => [m.name, m.state])).toEqual([
      ["down", "Stopped"],
      ["half", "Error"],
      ["up", "Running"],
    ]);

    // rm cleans up what the interrupted create left.
    const removed = await box.run(["rm", "half"]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(await box.machines()).toEqual(["down", "up"]);
  });
});
