// The typed client over a real plugin process: promises for unary calls,
// async iterables for streams, one ClientError class with the status code,
// per-call deadlines and AbortSignals, and nothing left behind by a call.
import { status } from "@grpc/grpc-js";
import { getEventListeners } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { driverCallDefaults, LIFECYCLE_TIMEOUT_MS, QUERY_TIMEOUT_MS, type PluginHandle } from "../../src/host/index.js";
import { DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { GRPCControllerService } from "../../generated/plugin/grpc_controller.js";
import { launchFixture } from "./fixture-launch.js";
import { clientFailure, makeHostTestEnv, type HostTestEnv } from "./host-test-env.js";

let env: HostTestEnv;
let plugin: PluginHandle<typeof DriverServiceService>;

beforeAll(async () => {
  env = await makeHostTestEnv();
  plugin = await launchFixture(env, "serve", {
    callDefaults: { timeoutMs: (name) => (name === "stop" ? 300 : undefined) },
  });
});
afterAll(async () => {
  await plugin?.close();
  await env?.cleanup();
});

describe("typed client", () => {
  it("resolves a unary call with the decoded response", async () => {
    await expect(plugin.client.getIp({})).resolves.toEqual({ ip: "10.0.0.1" });
  });

  it("rejects with a ClientError carrying path, code and details", async () => {
    const err = await clientFailure(plugin.client.getMachineName({}));
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.path).toBe("/driverplug.driver.v1.DriverService/GetMachineName");
    expect(err.details).toBe("no machine m1");
    expect(err.message).toBe("/driverplug.driver.v1.DriverService/GetMachineName NOT_FOUND: no machine m1");
  });

  it("passes UNIMPLEMENTED through as a status, not a string to compare", async () => {
    const err = await clientFailure(plugin.client.getUrl({}));
    expect(err.code).toBe(status.UNIMPLEMENTED);
  });

  it("fails with DEADLINE_EXCEEDED after the per-call timeout", async () => {
    const started = Date.now();
    const err = await clientFailure(plugin.client.stop({}, { timeoutMs: 150 }));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("applies the method's default timeout when the call gives none", async () => {
    const started = Date.now();
    const err = await clientFailure(plugin.client.stop({}));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("gives DriverService queries a short default, lifecycle calls (Create and Start included) a long one, WatchState none", () => {
    const d = DriverServiceService;
    expect(driverCallDefaults.timeoutMs("getIp", d.getIp)).toBe(QUERY_TIMEOUT_MS);
    expect(driverCallDefaults.timeoutMs("stop", d.stop)).toBe(LIFECYCLE_TIMEOUT_MS);
    expect(driverCallDefaults.timeoutMs("create", d.create)).toBe(LIFECYCLE_TIMEOUT_MS);
    expect(driverCallDefaults.timeoutMs("start", d.start)).toBe(LIFECYCLE_TIMEOUT_MS);
    expect(driverCallDefaults.timeoutMs("watchState", d.watchState)).toBeUndefined();
  });

  it("cancels a call when its AbortSignal fires, and removes its listener", async () => {
    const ac = new AbortController();
    const call = plugin.client.stop({}, { signal: ac.signal });
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(1);
    ac.abort();
    const err = await clientFailure(call);
    expect(err.code).toBe(status.CANCELLED);
    expect(err.message).toContain("AbortSignal");
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });

  it("removes its abort listener when a call succeeds", async () => {
    const ac = new AbortController();
    await plugin.client.getIp({}, { signal: ac.signal });
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });

  it("fails at once with CANCELLED when the signal is already aborted", async () => {
    const err = await clientFailure(plugin.client.getIp({}, { signal: AbortSignal.abort() }));
    expect(err.code).toBe(status.CANCELLED);
  });

  it("yields a server stream as an async iterable, and ends it when the caller stops", async () => {
    const states: number[] = [];
    for await (const msg of plugin.client.watchState({})) {
      states.push(msg.state);
      break;
    }
    expect(states).toEqual([1]);
    await expect(plugin.client.getIp({})).resolves.toEqual({ ip: "10.0.0.1" });
  });

  it("ends a stream with CANCELLED when its signal fires mid-stream", async () => {
    const ac = new AbortController();
    const it = plugin.client.watchState({}, { signal: ac.signal })[Symbol.asyncIterator]();
    await expect(it.next()).resolves.toMatchObject({ value: { state: 1 } });
    ac.abort();
    const err = await clientFailure(it.next());
    expect(err.code).toBe(status.CANCELLED);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });

  it("fails a stream with DEADLINE_EXCEEDED after its timeout", async () => {
    const it = plugin.client.watchState({}, { timeoutMs: 200 })[Symbol.asyncIterator]();
    await it.next();
    const err = await clientFailure(it.next());
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
  });
});

describe("typed client resources", () => {
  /** Counted after a turn of the event loop: grpc-js clears a call's deadline timer just after the call's callback. */
  const timers = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    return process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
  };

  it("leaves no timer behind after calls that succeed, fail, time out or are aborted", async () => {
    await plugin.client.getIp({}, { timeoutMs: 5000 });
    const baseline = await timers();
    await plugin.client.getIp({}, { timeoutMs: 5000 });
    await plugin.client.getMachineName({}, { timeoutMs: 5000 }).catch(() => undefined);
    await plugin.client.stop({}, { timeoutMs: 100 }).catch(() => undefined);
    const ac = new AbortController();
    const aborted = plugin.client.stop({}, { signal: ac.signal, timeoutMs: 5000 }).catch(() => undefined);
    ac.abort();
    await aborted;
    for await (const _ of plugin.client.watchState({}, { timeoutMs: 5000 })) break;
    // At most the baseline: a timer grpc-js set up before (channel housekeeping) may have ended meanwhile.
    expect(await timers()).toBeLessThanOrEqual(baseline);
  });
});

describe("typed client for another service", () => {
  it("derives the client from whichever generated service definition the host passes", async () => {
    const other = await launchFixture(env, "serve", { service: GRPCControllerService });
    // The type follows the definition: shutdown exists, DriverService's methods do not.
    await expect(other.client.shutdown({})).resolves.toEqual({});
    await expect.poll(() => other.exit).toEqual({ code: 0, signal: null });
    await other.close();
  });
});
