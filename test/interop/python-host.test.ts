// A Python host that knows only the wire protocol (docs/protocol.md): it
// makes a private 0700 socket dir, launches the plugin with the cookie,
// validates the handshake line and the socket it names, runs a whole
// lifecycle over grpcio stubs, then stops the plugin with
// plugin.GRPCController/Shutdown and checks it exits and its socket is gone.
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
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

async function runPythonHost(plugin: string) {
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
  ];
  const result = await runHost(argv, process.env);
  if (result.code !== 0)
    throw new Error(`Python host failed: ${JSON.stringify(result.summary)}\n${result.stderr.slice(-4000)}`);
  return { summary: result.summary, base: tmp.path };
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
