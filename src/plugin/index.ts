// driverplug/plugin: everything a driver author needs, and nothing of the
// host side. Importing it has no side effects (stdout capture starts in
// serve(), or with driverplug/plugin/capture-stdout). Implement the DriverService methods (partial answers are fine),
// throw DriverError (or a helper) to choose a status, call serve().

// --- Serving a driver.
export { serve, type ServeOptions, type ServingPlugin } from "./serve.js";
export type { Driver, DriverHandlers } from "./driver.js";
export { defineDriver, type DriverMethodName, type DriverRequest, type DriverResponse } from "./define-driver.js";
export { DEFAULT_MACHINE, type DriverFactory, type DriverSource } from "./machine-instances.js";
export type { CallContext, Handler, ServiceHandlers } from "./handler-types.js";

// --- Middleware: one chain around every call the plugin serves.
export type { ServerMiddleware, ServerMiddlewareCall, ServerMethodInfo } from "./server-middleware.js";
export { withLogFields } from "./call-scope.js";
export type { PartialMessage } from "../protocol/partial-message.js";

// --- Statuses: the one error class and a helper per common code.
export { Code } from "../protocol/status.js";
export {
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
} from "./driver-error.js";

// --- Helpers for the verbose parts: create flags and the JSON config.
export {
  intFlag,
  stringFlag,
  stringListFlag,
  boolFlag,
  readFlags,
  type FlagDescriptor,
  type FlagOptions,
  type FlagValues,
} from "./create-flags.js";
export { jsonConfig, type ConfigCodec, type ConfigValidator } from "./config-codec.js";

// --- Logging: JSON lines on stderr the host re-logs at their level.
export { createLogger, type Logger, type LogFields } from "./logger.js";

// --- Transport security, for drivers that bring their own certificates.
export type { AutoMtlsProvider, TlsSetup } from "./auto-mtls.js";

// --- The contract: enums and message types.
export * from "../protocol/messages.js";
