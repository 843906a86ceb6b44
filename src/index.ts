// driverplug's public API, grouped by who uses it. A driver imports
// "driverplug/plugin" (it does not load the host side), a host
// "driverplug/host"; this root entry has both, plus what other libraries
// speaking the protocol need. Every name is listed: nothing generated is
// re-exported wholesale. No entry has import-time side effects; tracing
// (driverplug/otel) is an entry of its own, so @opentelemetry/api is loaded
// only by those who use it.

// --- For driver authors: implement the DriverService, call serve().
export {
  serve,
  defineDriver,
  withLogFields,
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
  intFlag,
  stringFlag,
  stringListFlag,
  boolFlag,
  readFlags,
  jsonConfig,
  createLogger,
  DEFAULT_MACHINE,
  type DriverFactory,
  type DriverSource,
  type ServeOptions,
  type ServingPlugin,
  type Driver,
  type DriverHandlers,
  type DriverMethodName,
  type DriverRequest,
  type DriverResponse,
  type ServerMiddleware,
  type ServerMiddlewareCall,
  type ServerMethodInfo,
  type CallContext,
  type Handler,
  type ServiceHandlers,
  type PartialMessage,
  type FlagDescriptor,
  type FlagOptions,
  type FlagValues,
  type ConfigCodec,
  type ConfigValidator,
  type Logger as PluginLogger,
  type LogFields,
  type AutoMtlsProvider,
  type TlsSetup,
} from "./plugin/index.js";

// --- For host authors: find and launch plugins, call them, close them.
export {
  launch,
  reattach,
  parseReattachRecord,
  ClientError,
  LaunchError,
  Metadata,
  stateName,
  STATE_NAMES,
  driverCallDefaults,
  LIFECYCLE_TIMEOUT_MS,
  QUERY_TIMEOUT_MS,
  findPlugin,
  PLUGIN_PREFIX,
  BUNDLED_DRIVERS,
  stderrLogger,
  silentLogger,
  defaultSocketBaseDir,
  machineClient,
  MACHINE_METADATA_KEY,
  stringValue,
  stringListValue,
  intValue,
  boolValue,
  type PluginHandle,
  type DriverClient,
  type TypedClient,
  type LaunchOptions,
  type ReattachOptions,
  type CloseOptions,
  type ReattachRecord,
  type ClientErrorReason,
  type LaunchFailure,
  type ClientMiddleware,
  type ClientMiddlewareCall,
  type ClientMethodInfo,
  type CallDefaults,
  type CallOptions,
  type FindOptions,
  type FoundPlugin,
  type HostLogRecord,
  type Logger as HostLogger,
  type StderrLoggerOptions,
  type PluginExit,
} from "./host/index.js";

// --- Both sides: status codes and the contract's enums and message types.
export { Code } from "./protocol/status.js";
export * from "./protocol/messages.js";

// --- For other libraries speaking the protocol (hosts or plugins of their own).
export { DriverServiceService } from "../generated/driverplug/driver/v1/driver.js";
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
