// Scale and leaks: dozens of plugins at once, and many launch/close cycles
// in one process leave no fds, processes or socket-dir entries behind.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { launch, silentLogger } from "../../src/host/index.js";
import { guardedPluginCount } from "../../src/host/host-exit-guard.js";
import { childProcesses, entries, makeHostTestEnv, openFds, type HostTestEnv } from "./host-test-env.js";

let env: HostTestEnv;
beforeEach(async () => {
  env = await makeHostTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});

describe("many plugins", () => {
  it("launches 50 plugins at once, all serving on their own sockets, and closes them all", async () => {
    const started = performance.now();
    const plugins = await Promise.all(
      Array.from({ length: 50 }, () =>
        launch("fake", { socketBaseDir: env.base, logger: silentLogger, startTimeoutMs: 60_000 }),
      ),
    );
    const launchedMs = performance.now() - started;
    const infos = await Promise.all(plugins.map((p) => p.client.getInfo({})));
    console.log(
      `50 plugins: launched in ${launchedMs.toFixed(0)} ms, all answered after ${(performance.now() - started).toFixed(0)} ms`,
    );
    expect(infos.every((i) => i.driverName === "fake")).toBe(true);
    expect(new Set(plugins.map((p) => p.record.address)).size).toBe(50);
    expect(new Set(plugins.map((p) => p.record.privateDir)).size).toBe(50);
    expect(childProcesses()).toHaveLength(50);
    await Promise.all(plugins.map((p) => p.close()));
    expect(plugins.every((p) => p.exit?.code === 0)).toBe(true);
    expect(await entries(env.base)).toEqual([]);
    expect(childProcesses()).toEqual([]);
    expect(guardedPluginCount()).toBe(0);
  }, 120_000);

  it("leaves fds, child processes and socket-dir entries where they were after 100 launch/close cycles", async () => {
    // One cycle first, so lazily opened fds (grpc-js, the event loop) are counted in the baseline.
    await (await launch("fake", { socketBaseDir: env.base, logger: silentLogger })).close();
    const fds = openFds();
    const signalListeners = process.listenerCount("SIGTERM");
    const exitListeners = process.listenerCount("exit");
    const started = performance.now();
    // Four lanes of 25 cycles: the same 100 cycles, using both cores.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 25; i++) {
          const plugin = await launch("fake", {
            socketBaseDir: env.base,
            logger: silentLogger,
            startTimeoutMs: 60_000,
          });
          await plugin.client.getInfo({});
          await plugin.close();
        }
      }),
    );
    console.log(
      `100 cycles: ${((performance.now() - started) / 100).toFixed(0)} ms per launch, call, close (4 at a time)`,
    );
    expect(openFds()).toEqual(fds);
    expect(childProcesses()).toEqual([]);
    expect(await entries(env.base)).toEqual([]);
    expect(process.listenerCount("SIGTERM")).toBe(signalListeners);
    expect(process.listenerCount("exit")).toBe(exitListeners);
  }, 180_000);
});
