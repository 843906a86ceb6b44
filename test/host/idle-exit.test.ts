// launch({ idleExitMs }): a plugin a host leaves running (a warm plugin).
// It says it ends by itself (honoursIdleExit), outlives detach(), stays while
// a host is connected, and exits after the idle period with nobody connected,
// removing its socket and private dir. Without the option nothing changes.
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { launch, reattach, silentLogger } from "../../src/host/index.js";
import { processAlive } from "../../src/host/plugin-process.js";
import { entries, makeHostTestEnv, type HostTestEnv } from "./host-test-env.js";

let env: HostTestEnv;
const left: number[] = [];
beforeEach(async () => {
  env = await makeHostTestEnv();
});
afterEach(async () => {
  for (const pid of left.splice(0)) if (processAlive(pid)) process.kill(pid, "SIGKILL");
  await env.cleanup();
});

async function gone(pid: number, budgetMs = 60_000): Promise<boolean> {
  const end = Date.now() + budgetMs;
  while (processAlive(pid)) {
    if (Date.now() > end) return false;
    await sleep(100);
  }
  return true;
}

describe("launch({ idleExitMs })", () => {
  it("leaves a plugin that says it ends when idle, outlives detach() and is reattached later", async () => {
    const plugin = await launch("fake", { socketBaseDir: env.base, logger: silentLogger, idleExitMs: 120_000 });
    left.push(plugin.pid);
    expect(await plugin.honoursIdleExit()).toBe(true);
    const record = plugin.record;
    plugin.detach();
    expect(processAlive(plugin.pid)).toBe(true);
    const again = await reattach(record);
    await expect(again.client.getInfo({})).resolves.toMatchObject({ driverName: "fake" });
    expect(await again.honoursIdleExit()).toBe(true);
    await again.close();
    expect(await gone(plugin.pid)).toBe(true);
    expect(await entries(env.base)).toEqual([]);
  });

  it("exits by itself once nobody is connected for the idle period, and not while a host is", async () => {
    const plugin = await launch("fake", { socketBaseDir: env.base, logger: silentLogger, idleExitMs: 1_500 });
    left.push(plugin.pid);
    const record = plugin.record;
    plugin.detach();
    const held = await reattach(record);
    await held.client.getInfo({});
    // Connected: three idle periods pass and the plugin is still there.
    await sleep(4_500);
    expect(processAlive(plugin.pid)).toBe(true);
    await expect(held.client.getInfo({})).resolves.toMatchObject({ driverName: "fake" });
    held.detach();
    expect(await gone(plugin.pid)).toBe(true);
    // Its socket and the private dir the host made are gone with it.
    expect(await entries(env.base)).toEqual([]);
  });

  it("changes nothing for a host that does not ask: the plugin does not claim an idle exit", async () => {
    const plugin = await launch("fake", { socketBaseDir: env.base, logger: silentLogger });
    expect(await plugin.honoursIdleExit()).toBe(false);
    await plugin.close();
    expect(plugin.gone).toBe(true);
  });

  it("refuses an idle period that is not a positive whole number of milliseconds", async () => {
    for (const idleExitMs of [0, -5, 1.5, Number.NaN])
      await expect(launch("fake", { socketBaseDir: env.base, idleExitMs })).rejects.toThrow(
        /idleExitMs must be a positive whole number of milliseconds/,
      );
    expect(await entries(env.base)).toEqual([]);
  });
});
