// A host (or anything on the socket) naming machine after machine cannot make
// a plugin hold an instance for each: 60,000 distinct `driverplug-machine`
// keys, each a failed GetState, took the fake plugin from 55 to 501 MiB
// before instances were bounded. Now the plugin keeps at most maxMachines
// (1000 by default) and makes room from instances that hold nothing; its own
// count, logged each time it changes, never passes the cap. The work scales
// to the time it has, so a loaded machine runs fewer keys, not a failure.
import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { launch, type HostLogRecord, type PluginHandle } from "../../src/host/index.js";
import { DEFAULT_MAX_MACHINES } from "../../src/plugin/machine-instances.js";
import { makeHostTestEnv, type HostTestEnv } from "../host/host-test-env.js";
import { Figures } from "./figures.js";

const figures = new Figures("machine-flood");
afterAll(() => figures.print());

const KEYS = 60_000;
const BUDGET_MS = 60_000;
const IN_FLIGHT = 32;

let env: HostTestEnv;
let plugin: PluginHandle | undefined;
beforeEach(async () => {
  env = await makeHostTestEnv();
});
afterEach(async () => {
  await plugin?.close();
  plugin = undefined;
  await env.cleanup();
});

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

describe("a flood of machine keys", () => {
  it(`keeps at most ${DEFAULT_MAX_MACHINES} machine instances however many distinct machines are named`, async () => {
    let maxCount = 0;
    const log = (r: HostLogRecord) => {
      if (r.message.startsWith("machine instance ")) maxCount = Math.max(maxCount, Number(r.fields.machines));
    };
    plugin = await launch("fake", { socketBaseDir: env.base, logger: { log } });
    await plugin.client.getInfo({});
    const before = rssMiB(plugin.pid);
    const started = Date.now();
    let next = 0;
    let wrong = 0;
    const worker = async () => {
      while (next < KEYS && Date.now() - started < BUDGET_MS) {
        const key = `flood-${next++}`;
        const code = await plugin!
          .forMachine(key)
          .getState({})
          .then(
            () => "OK",
            (e: { codeName: string }) => e.codeName,
          );
        // A machine never configured: FAILED_PRECONDITION, never RESOURCE_EXHAUSTED (room is made).
        if (code !== "FAILED_PRECONDITION") wrong++;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const seconds = (Date.now() - started) / 1000;
    const after = rssMiB(plugin.pid);
    figures.set("keys", next);
    figures.set("seconds", seconds);
    figures.set("maxInstances", maxCount);
    figures.set("rssBeforeMiB", before);
    figures.set("rssAfterMiB", after);
    expect(next, "the budget allowed too few keys to say anything").toBeGreaterThan(3 * DEFAULT_MAX_MACHINES);
    expect(wrong).toBe(0);
    // The default instance is not counted against the cap.
    expect(maxCount).toBeLessThanOrEqual(DEFAULT_MAX_MACHINES + 1);
    // The plugin still answers.
    expect((await plugin.client.getInfo({})).driverName).toBe("fake");
  }, 120_000);
});
