// driverplug's host sends each call's deadline as grpc-timeout, so a plugin in
// any language sees it in its handler's context: a Go handler (grpc-go's
// ctx.Deadline(), ctx.Err()) and a Python handler (grpcio's
// context.time_remaining()). The Go plugin also reads the RPC options from
// the descriptor its stubs embed, as a Go driver author would.
import { status } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { launch, type HostLogRecord, type PluginHandle } from "../../src/host/index.js";
import { clientFailure, makeHostTestEnv, type HostTestEnv } from "../host/host-test-env.js";
import { buildGoPlugin, preparePython, PYFAKE_PLUGIN } from "./toolchain.js";

let env: HostTestEnv;
let plugin: PluginHandle | undefined;
const records: HostLogRecord[] = [];
const logger = { log: (r: HostLogRecord) => void records.push(r) };

beforeEach(async () => {
  env = await makeHostTestEnv();
  records.length = 0;
});

afterEach(async () => {
  await plugin?.close();
  plugin = undefined;
  await env.cleanup();
});

describe("the host's deadline reaches a Go handler", () => {
  let binary: string;
  beforeEach(async () => {
    binary ??= (await buildGoPlugin()).binary;
  }, 300_000);

  it("as its context's deadline, and the context ends with DeadlineExceeded", async () => {
    plugin = await launch("goplug", { executable: binary, socketBaseDir: env.base, logger });
    const name = (await plugin.client.getMachineName({}, { timeoutMs: 30_000 })).name;
    const remaining = Number(/^deadline-in-ms=(\d+)$/.exec(name)?.[1]);
    expect(remaining, name).toBeGreaterThan(0);
    expect(remaining).toBeLessThanOrEqual(30_000);

    // Without a deadline of the caller's, the RPC's default one (query: 10 s) is sent.
    const byDefault = Number(/^deadline-in-ms=(\d+)$/.exec((await plugin.client.getMachineName({})).name)?.[1]);
    expect(byDefault).toBeGreaterThan(0);
    expect(byDefault).toBeLessThanOrEqual(10_000);

    const err = await clientFailure(plugin.client.stop({}, { timeoutMs: 300 }));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    await expect
      .poll(() => records.find((r) => r.message === "stop ended")?.fields?.reason, { timeout: 10_000 })
      .toBe("context deadline exceeded");
  });

  it("and the Go side reads Kill's RPC options from its stubs' descriptor", async () => {
    plugin = await launch("goplug", { executable: binary, socketBaseDir: env.base, logger });
    expect((await plugin.client.getInfo({})).driverVersion).toBe(
      "mutating=true preempts=true long_running=true required=true idempotency=IDEMPOTENT",
    );
  });
});

describe("the host's deadline reaches a Python handler", () => {
  beforeEach(async () => {
    await preparePython();
  }, 120_000);

  it("as grpcio's time_remaining()", async () => {
    plugin = await launch("pyfake", { executable: PYFAKE_PLUGIN, socketBaseDir: env.base, logger });
    // Logged as the handler starts, whether or not a config is set yet.
    await plugin.client.getState({}, { timeoutMs: 30_000 }).catch(() => undefined);
    await plugin.client.getState({}, { timeoutMs: 0 }).catch(() => undefined);
    const seen = async () =>
      records.filter((r) => r.message === "GetState").map((r) => String(r.fields?.deadline_ms ?? "missing"));
    await expect.poll(seen, { timeout: 10_000 }).toHaveLength(2);
    const [withDeadline, without] = await seen();
    expect(Number(withDeadline)).toBeGreaterThan(0);
    expect(Number(withDeadline)).toBeLessThanOrEqual(30_000);
    expect(without).toBe("none");
  });
});
