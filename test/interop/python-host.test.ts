// A Python host that knows only the wire protocol (docs/protocol.md): it
// makes a private 0700 socket dir, launches the plugin with the cookie,
// validates the handshake line and the socket it names, runs a whole
// lifecycle over grpcio stubs, then stops the plugin with
// plugin.GRPCController/Shutdown and checks it exits and its socket is gone.
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { PARENT_SPAN_ID, pluginLogLines, TRACE_ID, TRACED_FAKE_PLUGIN, TRACEPARENT } from "./traced-plugin.js";
import { expectFullLifecycle } from "./lifecycle-expectations.js";
import {
  INTEROP,
  preparePython,
  PYFAKE_PLUGIN,
  PYTHON,
  requireFakePlugin,
  runHost,
  shortTempDir,
} from "./toolchain.js";

const cleanups: Array<() => Promise<void>> = [];

// In beforeEach, not beforeAll: a missing tool must fail each test with the
// install hint, and vitest shows tests under a failed beforeAll as skipped.
let python: Promise<string> | undefined;
beforeEach(async () => {
  await (python ??= preparePython());
}, 120_000);

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function runPythonHost(plugin: string, extraArgs: string[] = []) {
  const tmp = await shortTempDir();
  cleanups.push(tmp.remove);
  const store = join(tmp.path, "store");
  await fs.mkdir(store);
  const argv = [
    PYTHON,
    join(INTEROP, "python", "host.py"),
    "--plugin",
    plugin,
    "--store",
    store,
    "--socket-base",
    tmp.path,
    ...extraArgs,
  ];
  const result = await runHost(argv, process.env);
  if (result.code !== 0)
    throw new Error(`Python host failed: ${JSON.stringify(result.summary)}\n${result.stderr.slice(-4000)}`);
  return { summary: result.summary, base: tmp.path, stderr: result.stderr };
}

async function expectPythonHostRun(plugin: string) {
  const { summary, base } = await runPythonHost(plugin);
  expectFullLifecycle(summary);
  expect(summary.health).toBe("SERVING");
  expect(summary.handshake).toMatch(/^1\|1\|unix\|\/[^|]+\.sock\|grpc\|$/);
  expect(String(summary.privateDir).startsWith(`${base}/`)).toBe(true);
  expect(summary.exitCode).toBe(0);
  expect(summary.shutdownMs).toBeLessThan(1500);
  expect(summary.leftInPrivateDir).toEqual([]);
  return summary;
}

describe("Python host x Python plugin (driverplug-driver-pyfake)", () => {
  test("runs the whole lifecycle, and Shutdown makes the plugin exit 0 and remove its socket", async () => {
    const summary = await expectPythonHostRun(PYFAKE_PLUGIN);
    expect(summary.driverName).toBe("pyfake");
  });
});

describe("Python host x driverplug's bundled fake plugin", () => {
  test("runs the whole lifecycle, and Shutdown makes the plugin exit 0 and remove its socket", async () => {
    const summary = await expectPythonHostRun(requireFakePlugin());
    expect(summary.driverName).toBe("fake");
  });
});

describe("Python host x a driverplug plugin with driverplug/otel's server middleware", () => {
  test("sends a traceparent in every call's metadata: the plugin's log lines of those calls carry its trace id", async () => {
    const { summary, stderr } = await runPythonHost(TRACED_FAKE_PLUGIN, ["--traceparent", TRACEPARENT]);
    expectFullLifecycle(summary);
    // The Python host passes the plugin's stderr through as it is: JSON lines.
    const lines = pluginLogLines(stderr);
    const create = lines.find((l) => l["@message"] === "call" && l.method === "create");
    expect(create).toMatchObject({ trace_id: TRACE_ID, span_id: PARENT_SPAN_ID });
    // The driver's own lines of the Create (its progress steps) carry it too.
    expect(lines.filter((l) => l["@message"] === "progress").map((l) => l.trace_id)).toContain(TRACE_ID);
  });
});
