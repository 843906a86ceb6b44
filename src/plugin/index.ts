// The plugin side's public face: what a driver author imports.
export { serve, type ServeOptions, type ServingPlugin } from "./serve.js";
export type { Driver, DriverHandlers } from "./driver.js";
export { DEFAULT_MACHINE, type DriverFactory, type DriverSource } from "./machine-instances.js";
export type { CallContext, Handler, ServiceHandlers } from "./handler-types.js";
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
export { createLogger, type Logger, type LogFields } from "./logger.js";
export type { AutoMtlsProvider, TlsSetup } from "./auto-mtls.js";
