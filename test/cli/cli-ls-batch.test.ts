// `ls` in one call per driver: a driver whose plugin serves machine instances
// and advertises GetMachineStates is asked once for all its machines (the
// plugin's own middleware counts the calls it gets), and a plugin without
// the capability is asked machine by machine, with the same rows either way.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeFleet, writeFakeMachines } from "../../bench/fake-machines.js";
import { Sandbox } from "./driverplug-process.js";

const CALL_LOG_FAKE = resolve(fileURLToPath(new URL("../fixtures/plugins/call-log-fake-driver.mjs", import.meta.url)));

let box: Sandbox;
let callLog: string;
beforeEach(async () => {
  box = await Sandbox.create();
  callLog = join(box.root, "calls.log");
  await writeFile(callLog, "");
});
afterEach(async () => {
  await box.dispose();
});

/** A plugin dir holding driverplug-driver-calllog, with or without machine instances. */
async function pluginDir(name: string, single: boolean): Promise<string> {
  const dir = join(box.root, name);
  await mkdir(dir, { mode: 0o700 });
  // The plugin's environment is an allowlist: the wrapper sets the fixture's own variables.
  await writeFile(
    join(dir, "driverplug-driver-calllog"),
    `#!/bin/sh\nFIXTURE_CALL_LOG='${callLog}' FIXTURE_SINGLE=${single ? 1 : 0} exec '${CALL_LOG_FAKE}'\n`,
    { mode: 0o755 },
  );
  return dir;
}

/** The methods the plugins were called with, and how many plugin processes took calls. */
async function calls(): Promise<{ methods: string[]; processes: number }> {
  const lines = (await readFile(callLog, "utf8")).split("\n").filter((l) => l !== "");
  await writeFile(callLog, "");
  return {
    methods: lines.map((l) => l.split(" ")[1]!),
    processes: new Set(lines.map((l) => l.split(" ")[0])).size,
  };
}

const count = (methods: readonly string[], method: string) => methods.filter((m) => m === method).length;

interface Row {
  name: string;
  driver: string;
  state: string;
  ip: string;
  error?: string;
}

describe("driverplug ls in one call per driver", () => {
  it("asks a plugin with GetMachineStates once for all its machines, and one without machine by machine, with the same rows", async () => {
    const fleet = fakeFleet(16).map((m) => ({ ...m, driver: "calllog" }));
    await writeFakeMachines(box.store, fleet);
    // One machine whose config the driver refuses: its row is an error, the others are not held up.
    await mkdir(join(box.store, "machines", "broken"), { mode: 0o700 });
    await writeFile(
      box.configPath("broken"),
      JSON.stringify({ version: 1, driver: "calllog", config: { machineName: "broken", storePath: "relative/path" } }),
      { mode: 0o600 },
    );

    const batched = await box.run(["ls", "--json"], { DRIVERPLUG_PLUGIN_DIRS: await pluginDir("many", false) });
    expect(batched.code, batched.stderr).toBe(0);
    const batchCalls = await calls();
    expect(batchCalls.processes).toBe(1);
    expect(count(batchCalls.methods, "getMachineStates")).toBe(1);
    expect(count(batchCalls.methods, "getState")).toBe(0);
    expect(count(batchCalls.methods, "setConfig")).toBe(0);
    expect(count(batchCalls.methods, "getIp")).toBe(0);

    const single = await box.run(["ls", "--json"], { DRIVERPLUG_PLUGIN_DIRS: await pluginDir("one", true) });
    expect(single.code, single.stderr).toBe(0);
    const singleCalls = await calls();
    expect(count(singleCalls.methods, "getMachineStates")).toBe(0);
    // "broken" fails at SetConfig, before GetState.
    expect(count(singleCalls.methods, "getState")).toBe(fleet.length);
    expect(singleCalls.processes).toBe(fleet.length + 1);

    const batchRows = JSON.parse(batched.stdout) as Row[];
    const singleRows = JSON.parse(single.stdout) as Row[];
    const withoutError = (rows: Row[]) => rows.map(({ error: _error, ...rest }) => rest);
    expect(withoutError(batchRows)).toEqual(withoutError(singleRows));
    expect(batchRows.filter((r) => r.name !== "broken").map((r) => [r.name, r.state, r.error])).toEqual(
      fleet.map((m) => [m.name, m.state === "running" ? "Running" : "Stopped", undefined]),
    );
    for (const row of batchRows) expect(row.ip === "-", row.name).toBe(row.state !== "Running");
    const broken = batchRows.find((r) => r.name === "broken")!;
    expect(broken).toMatchObject({ driver: "calllog", state: "Error", ip: "-" });
    expect(broken.error).toMatch(/INVALID_ARGUMENT.*storePath/);
    expect(singleRows.find((r) => r.name === "broken")!.error).toMatch(/INVALID_ARGUMENT.*storePath/);
    expect(await box.pluginDirs()).toEqual([]);
  });

  it("prints the same table either way", async () => {
    await writeFakeMachines(
      box.store,
      fakeFleet(7).map((m) => ({ ...m, driver: "calllog" })),
    );
    const batched = await box.run(["ls"], { DRIVERPLUG_PLUGIN_DIRS: await pluginDir("many", false) });
    const single = await box.run(["ls"], { DRIVERPLUG_PLUGIN_DIRS: await pluginDir("one", true) });
    expect(batched.code, batched.stderr).toBe(0);
    expect(single.code, single.stderr).toBe(0);
    expect(batched.stdout).toBe(single.stdout);
    expect(batched.stdout.split("\n")[0]).toMatch(/^NAME\s+DRIVER\s+STATE\s+IP$/);
  });
});
