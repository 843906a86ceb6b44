// The middleware chains of both sides, each around a real plugin process:
// the order they run in (the first listed is the outermost, on the host and
// in the plugin), what a middleware can change (metadata the plugin sees),
// and how errors pass through them (a plugin's status reaches every host
// middleware and the caller as one ClientError; a plugin middleware can
// refuse a call before its handler runs; a host middleware's own failure
// reaches the caller as a ClientError too).
import { Metadata } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ClientError,
  launch,
  type ClientMiddleware,
  type HostLogRecord,
  type PluginHandle,
} from "../../src/host/index.js";
import { makeHostTestEnv, type HostTestEnv } from "../host/host-test-env.js";

const MW_PLUGIN = new URL("../fixtures/plugins/middleware-driver.mjs", import.meta.url).pathname;

let env: HostTestEnv;
let plugin: PluginHandle | undefined;
let records: HostLogRecord[];
let order: string[];

beforeEach(async () => {
  env = await makeHostTestEnv();
  records = [];
  order = [];
});
afterEach(async () => {
  await plugin?.close();
  plugin = undefined;
  await env.cleanup();
});

/** A host middleware that notes when a call passes it and how it ended. */
function noting(name: string): ClientMiddleware {
  return async function* (call, options) {
    order.push(`${name} enter ${call.method}`);
    try {
      const result = yield* call.next(call.request, options);
      order.push(`${name} leave ${call.method}`);
      return result;
    } catch (err) {
      // A call's failure arrives as a ClientError; what an inner middleware throws arrives as it was thrown.
      order.push(
        `${name} saw ${err instanceof ClientError ? `${err.codeName} (ClientError)` : `"${(err as Error).message}"`}`,
      );
      throw err;
    }
  };
}

/** Adds x-tag to the call's metadata, copying the caller's. */
const tagging: ClientMiddleware = async function* (call, options) {
  const metadata = options.metadata ? options.metadata.clone() : new Metadata();
  metadata.set("x-tag", "from the host middleware");
  return yield* call.next(call.request, { ...options, metadata });
};

async function start(middleware: ClientMiddleware[]): Promise<PluginHandle> {
  plugin = await launch("mw", {
    executable: MW_PLUGIN,
    socketBaseDir: env.base,
    logger: { log: (r) => void records.push(r) },
    middleware,
  });
  return plugin;
}

/** The plugin's middleware and handler lines, in the order the plugin wrote them. */
const pluginLines = () => records.map((r) => r.message).filter((m) => /^(outer|inner|handler) /.test(m));

describe("middleware on both sides of a real plugin", () => {
  it("runs in the order listed, the first outermost, around unary calls on both sides", async () => {
    const p = await start([noting("first"), noting("second"), tagging]);
    expect((await p.client.getMachineName({})).name).toBe("from the host middleware");
    expect(order).toEqual([
      "first enter getMachineName",
      "second enter getMachineName",
      "second leave getMachineName",
      "first leave getMachineName",
    ]);
    await expect.poll(pluginLines).toContain("outer leave getMachineName");
    expect(pluginLines()).toEqual([
      "outer enter getMachineName",
      "inner enter getMachineName",
      "handler getMachineName",
      "inner leave getMachineName",
      "outer leave getMachineName",
    ]);
  });

  it("passes a stream's messages through every middleware, in order", async () => {
    const p = await start([noting("first")]);
    const steps: string[] = [];
    for await (const event of p.client.create({})) steps.push(event.progress?.step ?? "");
    expect(steps).toEqual(["one", "two"]);
    expect(order).toEqual(["first enter create", "first leave create"]);
    await expect.poll(pluginLines).toContain("outer leave create");
    expect(pluginLines()).toEqual([
      "outer enter create",
      "inner enter create",
      "handler create",
      "inner leave create",
      "outer leave create",
    ]);
    expect(records.find((r) => r.message === "outer leave create")?.fields).toMatchObject({ messages: 2 });
  });

  it("carries a handler's status out through every middleware to the caller as one ClientError", async () => {
    const p = await start([noting("first"), noting("second")]);
    const err = await p.client.getIp({}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect(err).toMatchObject({ codeName: "NOT_FOUND", details: "no machine here" });
    expect(order).toEqual([
      "first enter getIp",
      "second enter getIp",
      "second saw NOT_FOUND (ClientError)",
      "first saw NOT_FOUND (ClientError)",
    ]);
    await expect.poll(pluginLines).toContain("outer saw NOT_FOUND from getIp");
    expect(pluginLines()).toEqual([
      "outer enter getIp",
      "inner enter getIp",
      "handler getIp",
      "inner saw NOT_FOUND from getIp",
      "outer saw NOT_FOUND from getIp",
    ]);
  });

  it("lets a plugin middleware refuse a call before its handler runs, with the status it chose", async () => {
    const p = await start([]);
    const metadata = new Metadata();
    metadata.set("x-refuse", "1");
    await expect(p.client.getMachineName({}, { metadata })).rejects.toMatchObject({
      codeName: "PERMISSION_DENIED",
      details: "the gate refused getMachineName",
    });
    await expect.poll(pluginLines).toContain("outer saw PERMISSION_DENIED from getMachineName");
    expect(pluginLines()).not.toContain("handler getMachineName");
  });

  it("turns a host middleware's own failure into a ClientError for the caller, and lets one answer without a call", async () => {
    // eslint-disable-next-line require-yield -- it fails before it could pass anything on
    const broken: ClientMiddleware = async function* () {
      throw new Error("the middleware broke");
    };
    const p = await start([noting("first"), broken]);
    const err = await p.client.getState({}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect(err).toMatchObject({ codeName: "UNKNOWN", details: "the middleware broke" });
    expect(order).toEqual(["first enter getState", 'first saw "the middleware broke"']);
    // Nothing reached the plugin.
    expect(pluginLines()).toEqual([]);

    await plugin!.close();
    // eslint-disable-next-line require-yield -- a unary answer is returned, never yielded
    const cached: ClientMiddleware = async function* () {
      return { state: 1 } as never;
    };
    const q = await start([cached]);
    expect(await q.client.getState({})).toEqual({ state: 1 });
  });

  it("refuses a middleware that is not a function before starting the plugin", async () => {
    await expect(
      launch("mw", { executable: MW_PLUGIN, socketBaseDir: env.base, middleware: [null as never] }),
    ).rejects.toThrow("middleware[0] is null; a client middleware is a function");
  });
});
