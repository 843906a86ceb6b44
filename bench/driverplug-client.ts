// driverplug's contenders: plugins started with the host's launch() and
// called through its typed promise client, exactly as a host author would.
import { DriverServiceService } from "../generated/driverplug/driver/v1/driver.js";
import { Client, credentials } from "@grpc/grpc-js";
import { fileURLToPath } from "node:url";
import {
  driverCallDefaults,
  launch,
  silentLogger,
  type ClientMiddleware,
  type PluginHandle,
} from "../src/host/index.js";
import { createTypedClient } from "../src/host/typed-client.js";
import type { BenchClient } from "./bench-client.js";
import { BENCH_BURST } from "./burst.js";
import { benchScript } from "./child-server.js";
import type { PluginStarter, StartedPlugin } from "./suites/startup.js";

type DriverHandle = PluginHandle<typeof DriverServiceService>;

const UNBUNDLED_FAKE = fileURLToPath(new URL("../src/drivers/fake/main.js", import.meta.url));

export interface DriverplugClient extends BenchClient {
  /** The plugin's socket path, for the breakdown that calls it with a bare client. */
  address: string;
  /** GetState with no deadline (timeoutMs: 0): no grpc-timeout, so the plugin arms no timer for it. */
  getStateWithoutDeadline(): Promise<unknown>;
}

export function clientOf(handle: DriverHandle): DriverplugClient {
  const c = handle.client;
  return {
    address: handle.record.address,
    getState: () => c.getState({}),
    getStateWithoutDeadline: () => c.getState({}, { timeoutMs: 0 }),
    configRoundTrip: async (payload) => {
      await c.setConfig({ configJson: payload });
      return (await c.getConfig({})).configJson.length;
    },
    watchBurst: async () => {
      let n = 0;
      for await (const _ of c.watchState({})) n++;
      return n;
    },
    close: () => handle.close(),
  };
}

/**
 * The host's typed client (with its default deadlines) on a plain grpc-js
 * channel to `address`, without a launched plugin: the host side's share of
 * the per-call overhead, measured against the bare server.
 */
export function typedClientOn(address: string): Pick<BenchClient, "getState" | "close"> {
  const channel = new Client(address, credentials.createInsecure());
  const c = createTypedClient(DriverServiceService, channel, { defaults: driverCallDefaults });
  return { getState: () => c.getState({}), close: () => channel.close() };
}

/** The bundled fake driver, found the way a host finds it. */
export function launchFake(): Promise<DriverHandle> {
  return launch("fake", { logger: silentLogger });
}

/** The config the fake driver needs before GetState answers (no machine exists in `storePath`). */
export function fakeConfig(storePath: string): Buffer {
  return Buffer.from(JSON.stringify({ machineName: "bench", storePath }));
}

/** The fake plugin, configured so that GetState answers. */
export async function launchConfiguredFake(storePath: string): Promise<DriverHandle> {
  const handle = await launchFake();
  try {
    await handle.client.setConfig({ configJson: fakeConfig(storePath) });
  } catch (err) {
    await handle.close();
    throw err;
  }
  return handle;
}

/**
 * The bench driver (bench/plugins/bench-driver.ts) run by node; `middleware`
 * names its plugin-side middleware (BENCH_MIDDLEWARE) and `clientMiddleware`
 * is the host's.
 */
export function launchBenchDriver(
  burst: number,
  middleware?: "empty" | "otel",
  clientMiddleware: readonly ClientMiddleware[] = [],
): Promise<DriverHandle> {
  return launch("bench", {
    executable: process.execPath,
    args: [benchScript("plugins/bench-driver.js")],
    env: { [BENCH_BURST]: String(burst), ...(middleware ? { BENCH_MIDDLEWARE: middleware } : {}) },
    logger: silentLogger,
    middleware: clientMiddleware,
  });
}

/** Start-up and scale measure the fake plugin: launch, then Probe (it answers before any config). */
export const startFake: PluginStarter = async () => starter(await launchFake());

/** The same plugin from dist/src's ESM files (no bundle, no code cache), for comparison. */
export const startUnbundledFake: PluginStarter = async () =>
  starter(await launch("fake", { executable: process.execPath, args: [UNBUNDLED_FAKE], logger: silentLogger }));

function starter(handle: DriverHandle): StartedPlugin {
  return { pid: handle.pid, call: () => handle.client.probe({}), close: () => handle.close() };
}
