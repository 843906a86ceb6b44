// `ls` over many machines: the machines of a driver whose plugin serves many
// machines share one plugin process; a driver without that capability gets a
// process per machine, never more at once than the cores; a stuck driver
// shows as Timeout without holding up the rest. Machines are written to the
// store directly (what create leaves), so hundreds are made in a moment.
import { appendFile, chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeFleet, writeFakeMachines } from "../../bench/fake-machines.js";
import { Sandbox } from "./driverplug-process.js";

const FAKE = resolve(fileURLToPath(new URL("../../bin/driverplug-driver-fake", import.meta.url)));
const SINGLE_FAKE = resolve(fileURLToPath(new URL("../fixtures/plugins/single-fake-driver.mjs", import.meta.url)));

let box: Sandbox;
let pluginDir: string;
let launchLog: string;
beforeEach(async () => {
  box = await Sandbox.create();
  pluginDir = join(box.root, "plugins");
  launchLog = join(box.root, "launches.log");
  await mkdir(pluginDir);
  await appendFile(launchLog, "");
  // The fake driver under another name, so each start of it can be counted.
  await writeFile(
    join(pluginDir, "driverplug-driver-countfake"),
    `#!/bin/sh\necho "start $$" >> '${launchLog}'\nexec '${FAKE}'\n`,
  );
  await chmod(join(pluginDir, "driverplug-driver-countfake"), 0o755);
  // The plugin's environment is an allowlist: the wrapper sets the fixture's own variable.
  await writeFile(
    join(pluginDir, "driverplug-driver-onefake"),
    `#!/bin/sh\nFIXTURE_LAUNCH_LOG='${launchLog}' exec '${SINGLE_FAKE}'\n`,
  );
  await chmod(join(pluginDir, "driverplug-driver-onefake"), 0o755);
  await writeFile(join(pluginDir, "driverplug-driver-hang"), "#!/bin/sh\nexec sleep 60\n");
  await chmod(join(pluginDir, "driverplug-driver-hang"), 0o755);
});
afterEach(async () => {
  await box.dispose();
});

interface Row {
  name: string;
  driver: string;
  state: string;
  ip: string;
  error?: string;
}

async function launches(): Promise<string[]> {
  return (await readFile(launchLog, "utf8")).split("\n").filter((l) => l !== "");
}

/** The most plugin processes alive at once, from the ordered start/end lines of the launch log. */
function peakAlive(lines: readonly string[]): number {
  let alive = 0;
  let peak = 0;
  for (const line of lines) {
    alive += line.startsWith("start ") ? 1 : line.startsWith("end ") ? -1 : 0;
    peak = Math.max(peak, alive);
  }
  return peak;
}

describe("driverplug ls of many machines", () => {
  it("lists 300 machines with their true states from one plugin process", async () => {
    const fleet = fakeFleet(300).map((m) => ({ ...m, driver: "countfake" }));
    await writeFakeMachines(box.store, fleet);
    const r = await box.run(["ls", "--json", "--timeout", "60"], { DRIVERPLUG_PLUGIN_DIRS: pluginDir });
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Row[];
    expect(rows.map((row) => [row.name, row.state])).toEqual(
      fleet.map((m) => [m.name, m.state === "running" ? "Running" : "Stopped"]),
    );
    for (const row of rows) expect(row.ip === "-").toBe(row.state !== "Running");
    expect(rows.filter((row) => row.error !== undefined)).toEqual([]);
    expect(await launches()).toHaveLength(1);
    expect(await box.pluginDirs()).toEqual([]);
  });

  it("starts a plugin per machine, at most one per core at once, for a plugin without machine instances, next to a stuck driver", async () => {
    const single = fakeFleet(6, "solo").map((m) => ({ ...m, driver: "onefake" }));
    const shared = fakeFleet(4, "many").map((m) => ({ ...m, driver: "countfake" }));
    await writeFakeMachines(box.store, [...single, ...shared]);
    await mkdir(join(box.store, "machines", "stuck"), { mode: 0o700 });
    await writeFile(box.configPath("stuck"), JSON.stringify({ version: 1, driver: "hang", config: {} }));

    const r = await box.run(["ls", "--json", "--timeout", "8"], {
      DRIVERPLUG_PLUGIN_DIRS: pluginDir,
    });
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Row[];
    const byName = new Map(rows.map((row) => [row.name, row]));
    for (const m of [...single, ...shared]) {
      expect(byName.get(m.name), m.name).toMatchObject({
        driver: m.driver,
        state: m.state === "running" ? "Running" : "Stopped",
      });
    }
    expect(byName.get("stuck")).toEqual({
      name: "stuck",
      driver: "hang",
      state: "Timeout",
      ip: "-",
      error: "no answer within 8 s",
    });
    const log = await launches();
    // One countfake process for its four machines; six onefake processes, one per machine.
    expect(log.filter((l) => l.startsWith("start ") && !l.includes("onefake"))).toHaveLength(1);
    const onefake = log.filter((l) => l.includes("onefake"));
    expect(onefake.filter((l) => l.startsWith("start "))).toHaveLength(6);
    expect(onefake.filter((l) => l.startsWith("end "))).toHaveLength(6);
    expect(peakAlive(onefake)).toBeLessThanOrEqual(availableParallelism());
    expect(await box.pluginDirs()).toEqual([]);
  });
});
