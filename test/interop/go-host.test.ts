// HashiCorp go-plugin (Debian's 1.0.1) as the host: it launches a driverplug
// plugin, pings it, runs a whole lifecycle through the generated Go client
// and kills it; the plugin must leave through GRPCController/Shutdown well
// before go-plugin's 2 s SIGKILL fallback and take its socket with it.
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { expectFullLifecycle } from "./lifecycle-expectations.js";
import { PARENT_SPAN_ID, pluginLogLines, TRACE_ID, TRACED_FAKE_PLUGIN, TRACEPARENT } from "./traced-plugin.js";
import { buildGoHost, preparePython, PYFAKE_PLUGIN, requireFakePlugin, runHost, shortTempDir } from "./toolchain.js";

const cleanups: Array<() => Promise<void>> = [];
// Built (or found in the cache) by the first test that needs it. Not in a
// beforeAll: there a missing tool would show the tests as skipped, and a
// missing tool must fail every test with the install hint.
let goHost: Promise<string> | undefined;
const goHostBinary = () => (goHost ??= buildGoHost().then((b) => b.binary));
let python: Promise<string> | undefined;
const pythonReady = () => (python ??= preparePython());
/** Long enough for a cold Go build on 2 cores; a cached run takes about a second. */
const BUILD_TIMEOUT_MS = 240_000;

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

/** Runs the Go host against a plugin with a fresh socket base dir and machine store. */
async function runGoHost(plugin: string, extraArgs: string[] = []) {
  const tmp = await shortTempDir();
  cleanups.push(tmp.remove);
  const base = join(tmp.path, "sock"); // missing on purpose: the plugin creates it 0700
  const store = join(tmp.path, "store");
  await fs.mkdir(store);
  // go-plugin 1.0.1 sets no PLUGIN_UNIX_SOCKET_DIR; the plugin falls back to this base dir.
  const env: NodeJS.ProcessEnv = { ...process.env, MACHINE_PLUGIN_SOCKET_DIR: base };
  delete env.PLUGIN_UNIX_SOCKET_DIR;
  const result = await runHost([await goHostBinary(), "-plugin", plugin, "-store", store, ...extraArgs], env);
  if (result.code !== 0)
    throw new Error(`Go host failed: ${JSON.stringify(result.summary)}\n${result.stderr.slice(-4000)}`);
  return { ...result, base };
}

async function expectGoPluginRun(plugin: string, extraArgs: string[] = []) {
  const { summary, base } = await runGoHost(plugin, extraArgs);
  expectFullLifecycle(summary);
  expect(summary.protocol).toBe("grpc");
  expect(summary.network).toBe("unix");
  expect(summary.ping).toBe(true);
  expect(String(summary.socketPath).startsWith(`${base}/`)).toBe(true);
  // Shutdown, not the SIGKILL go-plugin sends after waiting 2 s.
  expect(summary.exited).toBe(true);
  expect(summary.killMs).toBeLessThan(1500);
  expect((await fs.stat(base)).mode & 0o777).toBe(0o700);
  expect(await fs.readdir(base)).toEqual([]);
  return summary;
}

describe("go-plugin host x Python plugin (driverplug-driver-pyfake)", () => {
  test(
    "runs the whole lifecycle, then the plugin exits through Shutdown and removes its socket",
    async () => {
      await pythonReady();
      const summary = await expectGoPluginRun(PYFAKE_PLUGIN);
      expect(summary.driverName).toBe("pyfake");
      expect(summary.autoMTLS).toBe(false);
    },
    BUILD_TIMEOUT_MS,
  );

  test(
    "go-plugin re-logs the plugin's JSON stderr lines at their own level (6-digit @timestamp parsed)",
    async () => {
      await pythonReady();
      const { summary } = await runGoHost(PYFAKE_PLUGIN);
      expect((summary.pluginLogLevels as Record<string, number>).info).toBeGreaterThanOrEqual(2);
    },
    BUILD_TIMEOUT_MS,
  );

  test(
    "with AutoMTLS: go-plugin pins the certificate the plugin prints and the lifecycle runs over TLS",
    async () => {
      await pythonReady();
      const summary = await expectGoPluginRun(PYFAKE_PLUGIN, ["-automtls"]);
      expect(summary.autoMTLS).toBe(true);
    },
    BUILD_TIMEOUT_MS,
  );
});

describe("go-plugin host x driverplug's bundled fake plugin", () => {
  test(
    "runs the whole lifecycle, then the plugin exits through Shutdown and removes its socket",
    async () => {
      const summary = await expectGoPluginRun(requireFakePlugin());
      expect(summary.driverName).toBe("fake");
      // driverplug's stderr log lines parse as go-plugin log entries (6-digit @timestamp).
      const parsed = Object.values(summary.pluginLogLevels as Record<string, number>).reduce((a, b) => a + b, 0);
      expect(parsed).toBeGreaterThan(0);
    },
    BUILD_TIMEOUT_MS,
  );

  test(
    "with AutoMTLS: go-plugin pins the certificate the plugin prints and the lifecycle runs over TLS",
    async () => {
      const summary = await expectGoPluginRun(requireFakePlugin(), ["-automtls"]);
      expect(summary.autoMTLS).toBe(true);
    },
    BUILD_TIMEOUT_MS,
  );
});

describe("go-plugin host x a driverplug plugin with driverplug/otel's server middleware", () => {
  test(
    "sends a traceparent in every call's metadata: the plugin's log lines of those calls carry its trace id",
    async () => {
      const { summary, stderr } = await runGoHost(TRACED_FAKE_PLUGIN, ["-traceparent", TRACEPARENT]);
      expectFullLifecycle(summary);
      // go-plugin re-logs the plugin's JSON lines through its own (JSON) logger, fields kept.
      const lines = pluginLogLines(stderr);
      const create = lines.find((l) => l["@message"] === "call" && l.method === "create");
      expect(create, stderr.slice(-3000)).toMatchObject({ trace_id: TRACE_ID, span_id: PARENT_SPAN_ID });
    },
    BUILD_TIMEOUT_MS,
  );
});
