// driverplug/host: find and launch driver plugins, talk to them through the
// typed client, close them, reattach to them later. Nothing here is needed to
// write a driver.

// --- Launching and reattaching.
export { launch, type LaunchOptions } from "./launch.js";
export { reattach, type ReattachOptions } from "./reattach.js";
export type { PluginHandle, CloseOptions, DriverClient } from "./plugin-handle.js";
export { LaunchError, type LaunchFailure } from "./launch-error.js";
export { parseReattachRecord, type ReattachRecord } from "./reattach-record.js";
export type { PluginExit } from "./plugin-process.js";
export { findPlugin, PLUGIN_PREFIX, type FindOptions, type FoundPlugin } from "./find-plugin.js";
export { BUNDLED_DRIVERS } from "./bundled-drivers.js";
export { defaultSocketBaseDir } from "./private-socket-dir.js";

// --- Calls: the typed client's options and errors.
export type { TypedClient } from "./typed-client.js";
export {
  driverCallDefaults,
  LIFECYCLE_TIMEOUT_MS,
  QUERY_TIMEOUT_MS,
  type CallDefaults,
  type CallOptions,
} from "./call-options.js";
export { Code } from "../protocol/status.js";
// grpc-js's own class (a peer dependency, so the same one the client uses): CallOptions.metadata.
export { Metadata } from "@grpc/grpc-js";
export { ClientError, type ClientErrorReason } from "./client-error.js";

// --- Middleware: one chain around every call (tracing, metrics, audit...).
export type { ClientMiddleware, ClientMiddlewareCall, ClientMethodInfo } from "./client-middleware.js";

// --- Machine states as people read them ("Running").
export { stateName, STATE_NAMES } from "../protocol/state-names.js";

// --- Many machines in one plugin (CAPABILITY_MACHINE_INSTANCES): calls that name their machine.
export { machineClient } from "./machine-client.js";
export { MACHINE_METADATA_KEY } from "../protocol/machine-key.js";
// GetMachineStates (CAPABILITY_MACHINE_STATES): a host splits its list to stay under these.
export {
  MAX_MACHINE_STATES_PER_CALL,
  MAX_MACHINE_STATE_CONFIG_BYTES,
  MAX_MACHINE_STATES_REQUEST_BYTES,
} from "../protocol/machine-states.js";

// --- Plugin logs.
export {
  stderrLogger,
  silentLogger,
  type HostLogRecord,
  type Logger,
  type StderrLoggerOptions,
} from "./host-logger.js";

// --- Helpers: the JSON config codec and typed flag values.
export { jsonConfig, type ConfigCodec, type ConfigValidator } from "./config-codec.js";
export { stringValue, stringListValue, intValue, boolValue } from "../protocol/flag-values.js";

// --- The contract: enums and message types.
export * from "../protocol/messages.js";
