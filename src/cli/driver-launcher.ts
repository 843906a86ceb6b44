// Launches a driver's plugin through the host API, with the CLI's choices:
// plugin dirs from DRIVERPLUG_PLUGIN_DIRS, plugin logs at warn and above on
// stderr (all of them with DRIVERPLUG_TRACE).
import type { DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { DRIVERPLUG_TRACE } from "../protocol/env.js";
import { launch, stderrLogger, type LaunchOptions, type Logger, type TypedClient } from "../host/index.js";
import type { PluginHandle } from "../host/plugin-handle.js";
import { Interrupted } from "./interrupt.js";
import type { WarmPlugins } from "./warm-plugins.js";
import { passEnvFrom, pluginDirsFrom } from "./plugin-env-settings.js";

export { PASS_ENV_ENV, passEnvFrom, PLUGIN_DIRS_ENV, pluginDirsFrom } from "./plugin-env-settings.js";

export type DriverClient = TypedClient<typeof DriverServiceService>;

export interface DriverHandle {
  driver: string;
  pid: number;
  /** The plugin's socket, for the curious (the demo shows it is removed). */
  socketPath: string;
  client: DriverClient;
  /** A client whose calls name `machine`, for a plugin with CAPABILITY_MACHINE_INSTANCES. */
  forMachine(machine: string): DriverClient;
  /** True once the plugin process is known to be gone. */
  readonly gone: boolean;
  /** True when the plugin is a warm one that close() leaves running for the next command. */
  readonly warm: boolean;
  /** Stops the plugin (a warm one: lets go of it); idempotent. */
  close(): Promise<void>;
}

export interface LaunchSettings {
  env: NodeJS.ProcessEnv;
  stderr: NodeJS.WritableStream;
  /** How long the plugin has to start; the host's default (30 s) when unset. */
  startTimeoutMs?: number;
  /** Where the plugin's log records go instead of stderr (--json keeps them for its object). */
  logger?: Logger;
  /** Reuse and leave warm plugins (warm-plugins.ts); unset: every plugin is launched and closed. */
  warm?: WarmPlugins;
}

/** Launches `driver`; if `signal` fires meanwhile, the plugin is closed again and Interrupted thrown. */
export async function launchDriver(
  driver: string,
  settings: LaunchSettings,
  signal?: AbortSignal,
): Promise<DriverHandle> {
  signal?.throwIfAborted();
  const options: LaunchOptions = {
    pluginDirs: pluginDirsFrom(settings.env),
    inheritEnv: passEnvFrom(settings.env),
    ...(settings.startTimeoutMs !== undefined ? { startTimeoutMs: settings.startTimeoutMs } : {}),
    logger:
      settings.logger ??
      stderrLogger({
        level: settings.env[DRIVERPLUG_TRACE] ? "trace" : "warn",
        write: (text) => void settings.stderr.write(text),
      }),
  };
  let handle: PluginHandle;
  let keep = false;
  if (settings.warm) {
    const warm = settings.warm;
    const got = await warm.acquire(driver, options);
    handle = got.handle;
    keep = got.keep;
  } else handle = await launch(driver, options);
  const warm = settings.warm;
  let letGo: Promise<void> | undefined;
  const wrapped: DriverHandle = {
    driver,
    pid: handle.pid,
    socketPath: handle.record.address,
    client: handle.client,
    forMachine: (machine) => handle.forMachine(machine),
    get gone() {
      return handle.gone;
    },
    warm: keep,
    close: () => {
      if (!keep) return handle.close();
      // Left running for the next command; it ends by itself after its idle period.
      letGo ??= (async () => {
        handle.detach();
        if (!handle.gone) await warm?.touch(driver);
      })();
      return letGo;
    },
  };
  if (signal?.aborted) {
    await wrapped.close();
    throw signal.reason instanceof Error ? signal.reason : new Interrupted();
  }
  return wrapped;
}
