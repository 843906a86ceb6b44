// A plugin that dies is noticed at once: calls and streams in flight fail
// UNAVAILABLE naming the signal or exit code and the stderr tail, later calls
// fail the same way, and close() still cleans up.
import { status } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { launchFixture } from "./fixture-launch.js";
import { childProcesses, clientFailure, entries, makeHostTestEnv, type HostTestEnv } from "./host-test-env.js";

let env: HostTestEnv;
beforeEach(async () => {
  env = await makeHostTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});

describe("plugin death", () => {
  it("fails a unary call in flight at once when the plugin is SIGKILLed", async () => {
    const plugin = await launchFixture(env, "serve");
    const call = clientFailure(plugin.client.stop({}, { timeoutMs: 30_000 }));
    await plugin.client.getIp({}); // the stop call is on the wire by now
    const killedAt = Date.now();
    process.kill(plugin.pid, "SIGKILL");
    const err = await call;
    expect(Date.now() - killedAt).toBeLessThan(2000);
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.path).toBe("/driverplug.driver.v1.DriverService/Stop");
    expect(err.details).toContain(`(pid ${plugin.pid}) was killed by signal SIGKILL`);
    expect(plugin.exit).toEqual({ code: null, signal: "SIGKILL" });
    await plugin.close();
    expect(await entries(env.base)).toEqual([]);
    expect(childProcesses()).toEqual([]);
  });

  it("fails a stream in flight at once when the plugin is SIGKILLed", async () => {
    const plugin = await launchFixture(env, "serve");
    const it = plugin.client.watchState({})[Symbol.asyncIterator]();
    await expect(it.next()).resolves.toMatchObject({ value: { state: 1 } });
    const killedAt = Date.now();
    process.kill(plugin.pid, "SIGKILL");
    const err = await clientFailure(it.next());
    expect(Date.now() - killedAt).toBeLessThan(2000);
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toContain("was killed by signal SIGKILL");
    await plugin.close();
    expect(childProcesses()).toEqual([]);
  });

  it("fails calls made after the death with the same explanation", async () => {
    const plugin = await launchFixture(env, "serve");
    process.kill(plugin.pid, "SIGKILL");
    await expect.poll(() => plugin.gone).toBe(true);
    const err = await clientFailure(plugin.client.getIp({}));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toContain("was killed by signal SIGKILL");
    await plugin.close();
    expect(await entries(env.base)).toEqual([]);
  });
});

describe("close", () => {
  it("stops a plugin through the Shutdown RPC, well inside the grace period", async () => {
    const plugin = await launchFixture(env, "serve", { graceMs: 5000, termGraceMs: 5000 });
    const started = Date.now();
    await plugin.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(plugin.exit).toEqual({ code: 0, signal: null });
    expect(await entries(env.base)).toEqual([]);
    expect(childProcesses()).toEqual([]);
  });

  it("escalates to SIGKILL for a plugin that ignores Shutdown and SIGTERM", async () => {
    const plugin = await launchFixture(env, "stubborn", { graceMs: 300, termGraceMs: 300 });
    const started = Date.now();
    await plugin.close();
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(550);
    expect(took).toBeLessThan(5000);
    expect(plugin.exit).toEqual({ code: null, signal: "SIGKILL" });
    expect(await entries(env.base)).toEqual([]);
    expect(childProcesses()).toEqual([]);
  });

  it("is idempotent and gives concurrent callers the same promise", async () => {
    const plugin = await launchFixture(env, "serve");
    const a = plugin.close();
    const b = plugin.close();
    expect(a).toBe(b);
    await Promise.all([a, b]);
    await plugin.close();
    expect(childProcesses()).toEqual([]);
  });

  it("fails calls and streams made after close with UNAVAILABLE rather than a raw error", async () => {
    const plugin = await launchFixture(env, "serve");
    await plugin.close();
    const err = await clientFailure(plugin.client.getIp({}));
    expect(err.code).toBe(status.UNAVAILABLE);
    const streamErr = await clientFailure(plugin.client.watchState({})[Symbol.asyncIterator]().next());
    expect(streamErr.code).toBe(status.UNAVAILABLE);
  });

  it("fails calls still in flight with UNAVAILABLE saying the host closed the plugin", async () => {
    const plugin = await launchFixture(env, "serve");
    const call = clientFailure(plugin.client.stop({}, { timeoutMs: 30_000 }));
    await plugin.client.getIp({});
    await plugin.close();
    const err = await call;
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toContain("after the host closed it");
  });
});
