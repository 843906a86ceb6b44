// The host driving the bundled fake driver end to end, as a host application
// would: found without a lookup, configured, created with progress, stopped,
// removed and closed.
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { launch, silentLogger } from "../../src/host/index.js";
import { childProcesses, entries, makeHostTestEnv, type HostTestEnv } from "./host-test-env.js";

let env: HostTestEnv;
beforeEach(async () => {
  env = await makeHostTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});

describe("the bundled fake driver", () => {
  it("runs a machine's whole life through the typed client", async () => {
    const started = performance.now();
    const plugin = await launch("fake", { socketBaseDir: env.base, logger: silentLogger });
    const info = await plugin.client.getInfo({});
    console.log(`fake: launch to first call ${(performance.now() - started).toFixed(0)} ms`);
    expect(info.driverName).toBe("fake");
    const storePath = join(env.scratch, "store");
    await fs.mkdir(storePath);
    const config = {
      machineName: "m1",
      storePath,
      cpus: 2,
      memoryMiB: 2048,
      diskGiB: 20,
      networks: ["default"],
      stepDelayMs: 0,
    };
    await plugin.client.setConfig({ configJson: Buffer.from(JSON.stringify(config)) });
    const percents: number[] = [];
    for await (const event of plugin.client.create({})) percents.push(event.progress?.percent ?? -1);
    expect(percents.at(-1)).toBe(100);
    expect((await plugin.client.getState({})).state).toBeGreaterThan(0);
    await plugin.client.stop({});
    expect((await plugin.client.getState({})).state).toBe(4);
    await plugin.client.remove({});
    await plugin.close();
    expect(plugin.exit).toEqual({ code: 0, signal: null });
    expect(await entries(env.base)).toEqual([]);
    expect(childProcesses()).toEqual([]);
  });
});
