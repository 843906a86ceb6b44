// The host side's public API: find and launch driver plugins, talk to them
// through the typed client, close them, reattach to them later.
export { launch, type LaunchOptions } from "./launch.js";
export { reattach, type ReattachOptions } from "./reattach.js";
export { PluginHandle, type CloseOptions } from "./plugin-handle.js";
export { parseReattachRecord, type ReattachRecord } from "./reattach-record.js";
export { LaunchError, type LaunchFailure } from "./launch-error.js";
export { ClientError } from "./client-error.js";
export { machineClient } from "./machine-client.js";
export { MACHINE_METADATA_KEY } from "../protocol/machine-key.js";
export { createTypedClient, type TypedClient, type TypedClientOptions, type CallTracker } from "./typed-client.js";
export {
  driverCallDefaults,
  LIFECYCLE_TIMEOUT_MS,
  QUERY_TIMEOUT_MS,
  type CallDefaults,
  type CallOptions,
} from "./call-options.js";
export { findPlugin, PLUGIN_PREFIX, type FindOptions, type FoundPlugin } from "./find-plugin.js";
export { BUNDLED_DRIVERS } from "./bundled-drivers.js";
export {
  stderrLogger,
  silentLogger,
  type HostLogRecord,
  type Logger,
  type StderrLoggerOptions,
} from "./host-logger.js";
export { defaultSocketBaseDir } from "./private-socket-dir.js";
export type { PluginExit } from "./plugin-process.js";
