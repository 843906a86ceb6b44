// The typed client's deadlines, carried by grpc-js's own `deadline` call
// option: what the caller gets when a call runs out of time (a message in
// seconds), and what the plugin sees (ctx.deadline, and its handler's signal
// firing with DEADLINE_EXCEEDED).
import { status } from "@grpc/grpc-js";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { launch, type HostLogRecord, type PluginHandle } from "../../src/host/index.js";
import { formatSeconds } from "../../src/protocol/duration-text.js";
import { clientFailure, makeHostTestEnv, type HostTestEnv } from "./host-test-env.js";

describe("formatSeconds", () => {
  it("words durations in seconds, never in thousands of ms", () => {
    expect(formatSeconds(600_000)).toBe("600 s");
    expect(formatSeconds(10_000)).toBe("10 s");
    expect(formatSeconds(1500)).toBe("1.5 s");
    expect(formatSeconds(200)).toBe("0.2 s");
    expect(formatSeconds(Infinity)).toBe("no limit");
  });
});

describe("a call's deadline, end to end", () => {
  const KEEPER = new URL("../fixtures/plugins/config-keeper-driver.mjs", import.meta.url).pathname;
  let env: HostTestEnv;
  let plugin: PluginHandle | undefined;
  const records: HostLogRecord[] = [];

  beforeEach(async () => {
    env = await makeHostTestEnv();
    records.length = 0;
  });
  afterEach(async () => {
    await plugin?.close();
    await env.cleanup();
  });

  it("fails DEADLINE_EXCEEDED on time, and the plugin, which got the deadline as grpc-timeout, aborts its handler with DEADLINE_EXCEEDED", async () => {
    plugin = await launch("keeper", {
      executable: KEEPER,
      socketBaseDir: join(env.base),
      logger: { log: (r) => void records.push(r) },
    });
    const started = Date.now();
    const err = await clientFailure(plugin.client.stop({}, { timeoutMs: 200 }));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(err.details).toBe("no answer within 0.2 s (the call's deadline)");
    expect(Date.now() - started).toBeGreaterThanOrEqual(195);
    await expect
      .poll(() => records.find((r) => r.message === "stop aborted"), { timeout: 5000 })
      .toMatchObject({ fields: { reason: "DEADLINE_EXCEEDED: the deadline of stop passed" } });
  });
  it("gives the handler the call's deadline as ctx.deadline, and none to a call without one", async () => {
    plugin = await launch("keeper", { executable: KEEPER, socketBaseDir: join(env.base) });
    const deadline = new Date(Date.now() + 120_000);
    const seen = new Date((await plugin.client.getMachineName({}, { deadline })).name);
    // grpc-timeout carries the time left, so the plugin's clock places it a little later.
    expect(seen.getTime()).toBeGreaterThanOrEqual(deadline.getTime() - 1000);
    expect(seen.getTime()).toBeLessThanOrEqual(deadline.getTime() + 5000);
    expect((await plugin.client.getMachineName({}, { timeoutMs: 0 })).name).toBe("no deadline");
    // The default deadline of a query (10 s) reaches it too.
    expect((await plugin.client.getMachineName({})).name).not.toBe("no deadline");
    // A DEADLINE_EXCEEDED of the driver's own, well before the call's deadline, keeps its message.
    await expect(plugin.client.getIp({})).rejects.toMatchObject({
      codeName: "DEADLINE_EXCEEDED",
      details: "the guest did not answer within 2 s",
    });
  });

  it("a stream's deadline reaches its handler as DEADLINE_EXCEEDED; the caller's abort as CANCELLED", async () => {
    plugin = await launch("keeper", {
      executable: KEEPER,
      socketBaseDir: join(env.base),
      logger: { log: (r) => void records.push(r) },
    });
    const drain = async (stream: AsyncIterable<unknown>) => {
      for await (const _ of stream);
    };
    const late = await clientFailure(drain(plugin.client.start({}, { timeoutMs: 200 })));
    expect(late.code).toBe(status.DEADLINE_EXCEEDED);
    await expect
      .poll(() => records.filter((r) => r.message === "start aborted").map((r) => r.fields?.reason), { timeout: 5000 })
      .toEqual(["DEADLINE_EXCEEDED: the deadline of start passed"]);

    const ac = new AbortController();
    const aborted = clientFailure(drain(plugin.client.start({}, { timeoutMs: 60_000, signal: ac.signal })));
    // Aborted once the plugin runs the handler: a query on the same connection answers after the Start began.
    await plugin.client.getState({});
    ac.abort();
    expect((await aborted).code).toBe(status.CANCELLED);
    await expect
      .poll(() => records.filter((r) => r.message === "start aborted").map((r) => r.fields?.reason), { timeout: 5000 })
      .toEqual(["DEADLINE_EXCEEDED: the deadline of start passed", "CANCELLED: the client cancelled start"]);
  });
});
