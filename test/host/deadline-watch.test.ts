// The typed client's deadlines: one shared timer per client (deadline-watch.ts)
// instead of grpc-js's per-call deadline, and what a plugin sees when a call
// runs out of time (its handler's signal fires).
import { createHook } from "node:async_hooks";
import { status } from "@grpc/grpc-js";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { launch, type HostLogRecord, type PluginHandle } from "../../src/host/index.js";
import { DeadlineWatch, grpcTimeout, type Watched } from "../../src/host/deadline-watch.js";
import { clientFailure, makeHostTestEnv, type HostTestEnv } from "./host-test-env.js";

function watched(deadlineAt: number, expired: string[], name: string): Watched {
  return { deadlineAt, expire: () => expired.push(name) };
}

/** Counts the timers created while `run` runs (async_hooks sees every setTimeout). */
function timersCreatedBy(run: () => void): number {
  let count = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === "Timeout") count++;
    },
  }).enable();
  try {
    run();
  } finally {
    hook.disable();
  }
  return count;
}

describe("DeadlineWatch", () => {
  it("expires each call once its deadline passes, an earlier one added later first", async () => {
    const watch = new DeadlineWatch();
    const expired: string[] = [];
    const now = Date.now();
    watch.watch(watched(now + 120, expired, "late"));
    watch.watch(watched(now + 40, expired, "early"));
    await expect.poll(() => expired, { timeout: 2000, interval: 10 }).toEqual(["early", "late"]);
  });

  it("never expires a call unwatched in time", async () => {
    const watch = new DeadlineWatch();
    const expired: string[] = [];
    const now = Date.now();
    const gone = watched(now + 30, expired, "finished in time");
    watch.watch(gone);
    watch.watch(watched(now + 80, expired, "overdue"));
    watch.unwatch(gone);
    await expect.poll(() => expired, { timeout: 2000, interval: 10 }).toEqual(["overdue"]);
  });

  it("sets one timer for a run of calls with later and later deadlines", () => {
    const watch = new DeadlineWatch();
    const expired: string[] = [];
    const now = Date.now();
    const calls = Array.from({ length: 1000 }, (_, i) => watched(now + 10_000 + i, expired, String(i)));
    const timers = timersCreatedBy(() => {
      for (const call of calls) {
        watch.watch(call);
        watch.unwatch(call);
      }
    });
    expect(timers).toBe(1);
    expect(expired).toEqual([]);
  });
});

describe("grpcTimeout", () => {
  it("writes gRPC's wire format: at most 8 digits and a unit, rounded up", () => {
    expect(grpcTimeout(10_000)).toBe("10000m");
    expect(grpcTimeout(0.2)).toBe("1m");
    expect(grpcTimeout(-5)).toBe("0m");
    expect(grpcTimeout(99_999_999)).toBe("99999999m");
    expect(grpcTimeout(100_000_000)).toBe("100000S");
    expect(grpcTimeout(2 ** 62)).toBe("99999999H");
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
    expect(err.details).toBe("no answer within 200 ms (the call's deadline)");
    expect(Date.now() - started).toBeGreaterThanOrEqual(195);
    await expect
      .poll(() => records.find((r) => r.message === "stop aborted"), { timeout: 5000 })
      .toMatchObject({ fields: { reason: "DEADLINE_EXCEEDED: the deadline of stop passed" } });
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
