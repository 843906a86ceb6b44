// driverplug's public API, grouped by who uses it. A plugin that wants the
// lightest start-up imports "driverplug/plugin" instead (it does not load the
// host side), and a host "driverplug/host".

// --- For driver authors: implement the DriverService, call serve().
export {
  serve,
  DriverError,
  alreadyExists,
  cancelled,
  deadlineExceeded,
  failedPrecondition,
  internal,
  invalidArgument,
  notFound,
  unavailable,
  unimplemented,
  createLogger,
  type ServeOptions,
  type ServingPlugin,
  type Driver,
  type DriverHandlers,
  type CallContext,
  type Handler,
  type ServiceHandlers,
  type Logger as PluginLogger,
  type LogFields,
  type AutoMtlsProvider,
  type TlsSetup,
} from "./plugin/index.js";

// --- For host authors: find and launch plugins, call them, close them.
export {
  launch,
  reattach,
  PluginHandle,
  parseReattachRecord,
  LaunchError,
  ClientError,
  createTypedClient,
  driverCallDefaults,
  LIFECYCLE_TIMEOUT_MS,
  QUERY_TIMEOUT_MS,
  findPlugin,
  PLUGIN_PREFIX,
  BUNDLED_DRIVERS,
  stderrLogger,
  silentLogger,
  defaultSocketBaseDir,
  type LaunchOptions,
  type ReattachOptions,
  type CloseOptions,
  type ReattachRecord,
  type LaunchFailure,
  type TypedClient,
  type TypedClientOptions,
  type CallTracker,
  type CallDefaults,
  type CallOptions,
  type FindOptions,
  type FoundPlugin,
  type HostLogRecord,
  type Logger as HostLogger,
  type StderrLoggerOptions,
  type PluginExit,
} from "./host/index.js";

// --- The contract: messages, enums and the service definition (generated).
export * from "../generated/driverplug/driver/v1/driver.js";

// --- For other libraries speaking the protocol (hosts or plugins of their own).
export { DEFAULT_COOKIE, type MagicCookie } from "./protocol/env.js";
export {
  formatHandshake,
  parseHandshake,
  HandshakeError,
  CORE_PROTOCOL_VERSION,
  type Handshake,
} from "./protocol/handshake.js";
export { PROTOCOL_VERSIONS, negotiateVersion, parseVersionList, VersionMismatchError } from "./protocol/versions.js";
export { MAX_SOCKET_PATH_BYTES } from "./socket/socket-path.js";
export { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_RECEIVE_WINDOW_BYTES } from "./protocol/transport-limits.js";
