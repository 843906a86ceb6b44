// driverplug/otel across a real plugin process: the host's span, the
// plugin's server span and the driver's own span form one trace (W3C
// traceparent in the call's metadata), and the plugin's log lines written
// during a call carry the trace id, with or without an OpenTelemetry SDK in
// the plugin. The host side records spans in a real in-memory exporter; the
// plugin's exporter writes its spans as log lines the host receives.
import { context, SpanKind } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { join } from "node:path";
import { promises as fs } from "node:fs";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { launch, type HostLogRecord, type PluginHandle } from "../../src/host/index.js";
import { otelClientMiddleware, formatTraceparent, parseTraceparent } from "../../src/otel/index.js";
import { makeHostTestEnv, type HostTestEnv } from "../host/host-test-env.js";

const TRACED = new URL("../fixtures/plugins/traced-fake-driver.mjs", import.meta.url).pathname;
const CREATE = "driverplug.driver.v1.DriverService/Create";
const SET_CONFIG = "driverplug.driver.v1.DriverService/SetConfig";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer("host-test");
const contextManager = new AsyncLocalStorageContextManager();

let env: HostTestEnv;
let plugin: PluginHandle | undefined;
let records: HostLogRecord[];

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(() => {
  context.disable();
});
beforeEach(async () => {
  env = await makeHostTestEnv();
  records = [];
  exporter.reset();
});
afterEach(async () => {
  await plugin?.close();
  plugin = undefined;
  await env.cleanup();
});

async function start(tracing: "sdk" | "api only"): Promise<PluginHandle> {
  plugin = await launch("tracedfake", {
    executable: TRACED,
    socketBaseDir: env.base,
    env: tracing === "sdk" ? { FIXTURE_TRACING: "sdk" } : {},
    logger: { log: (r) => void records.push(r) },
    middleware: [otelClientMiddleware({ tracer })],
  });
  return plugin;
}

async function configFor(machine: string): Promise<{ configJson: Buffer }> {
  const storePath = join(env.scratch, machine);
  await fs.mkdir(storePath, { recursive: true });
  return { configJson: Buffer.from(JSON.stringify({ machineName: machine, storePath })) };
}

const pluginSpans = () => records.filter((r) => r.message === "span ended").map((r) => r.fields);

describe("OpenTelemetry across a real plugin", () => {
  it("makes one trace of the host's span, its call, the plugin's server span and the driver's work, and tags the driver's log lines with it", async () => {
    const p = await start("sdk");
    const m1 = p.forMachine("m1");
    const config = await configFor("m1");
    const traceId = await tracer.startActiveSpan("host operation", async (root) => {
      await m1.setConfig(config);
      for await (const _ of m1.create({})) void _;
      root.end();
      return root.spanContext().traceId;
    });

    const host = exporter.getFinishedSpans();
    const root = host.find((s) => s.name === "host operation")!;
    const createCall = host.find((s) => s.name === CREATE)!;
    expect(createCall.kind).toBe(SpanKind.CLIENT);
    expect(createCall.spanContext().traceId).toBe(traceId);
    expect(createCall.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(host.find((s) => s.name === SET_CONFIG)?.parentSpanContext?.spanId).toBe(root.spanContext().spanId);

    await expect.poll(() => pluginSpans().map((s) => s.name)).toContain("fake create work");
    const server = pluginSpans().find((s) => s.name === CREATE)!;
    expect(server).toMatchObject({
      kind: "SERVER",
      trace_id: traceId,
      parent_span_id: createCall.spanContext().spanId,
    });
    // The driver's own span is a child of the server span: it was the active span in the handler.
    expect(pluginSpans().find((s) => s.name === "fake create work")).toMatchObject({
      trace_id: traceId,
      parent_span_id: server.span_id,
    });
    // The fake driver's own log lines of that Create (its progress steps) carry the trace.
    const progress = records.filter((r) => r.message === "progress");
    expect(progress.length).toBeGreaterThan(0);
    for (const line of progress) expect(line.fields).toMatchObject({ trace_id: traceId, span_id: server.span_id });
    // And its SetConfig line, in the SetConfig call's server span.
    expect(records.find((r) => r.message === "config set")?.fields.trace_id).toBe(traceId);
  });

  it("tags the plugin's log lines with the host's trace id when the plugin has no OpenTelemetry SDK", async () => {
    const p = await start("api only");
    const traceId = await tracer.startActiveSpan("host operation", async (root) => {
      await p.client.getState({}).catch(() => undefined);
      root.end();
      return root.spanContext().traceId;
    });
    const call = exporter.getFinishedSpans().find((s) => s.name.endsWith("/GetState"))!;
    await expect
      .poll(() => records.find((r) => r.message === "call")?.fields)
      .toMatchObject({
        method: "getState",
        trace_id: traceId,
        // No SDK: the plugin's span is the host's span context itself.
        span_id: call.spanContext().spanId,
      });
  });

  it("starts no trace of its own in the log lines of a call that carries none", async () => {
    plugin = await launch("tracedfake", {
      executable: TRACED,
      socketBaseDir: env.base,
      logger: { log: (r) => void records.push(r) },
    });
    await plugin.client.getState({}).catch(() => undefined);
    await expect.poll(() => records.find((r) => r.message === "call")).toBeDefined();
    expect(records.find((r) => r.message === "call")?.fields).not.toHaveProperty("trace_id");
  });
});

describe("traceparent", () => {
  it("round-trips and refuses what W3C calls invalid", () => {
    const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    expect(parseTraceparent(tp)).toEqual({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      traceFlags: 1,
    });
    expect(formatTraceparent(parseTraceparent(tp)!)).toBe(tp);
    for (const bad of [
      "",
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
    ])
      expect(parseTraceparent(bad), bad).toBeUndefined();
  });
});
