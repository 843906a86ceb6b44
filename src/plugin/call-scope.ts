// Log fields that belong to one call: a middleware (the tracing one adds
// trace_id and span_id) or a handler names them once with addLogFields(), and
// every line the plugin's loggers write while that call's code runs carries
// them. Kept in an AsyncLocalStorage that the service adapter enters for each
// call only when serve() has middleware: Node 20's AsyncLocalStorage turns on
// promise hooks for the whole process, which a plugin without middleware
// should not pay for.
import { AsyncLocalStorage } from "node:async_hooks";
import type { LogFields } from "./logger.js";

interface CallScope {
  fields: LogFields | undefined;
}

const scope = new AsyncLocalStorage<CallScope>();

/** Runs `fn` (a call's whole handling) with a fresh set of log fields. */
export function runInCallScope<T>(fn: () => T): T {
  return scope.run({ fields: undefined }, fn);
}

/**
 * Adds `fields` to every log line written from now on by the current call's
 * code (middleware, handler and what they await). Outside a call, or in a
 * plugin served without middleware, it does nothing.
 */
export function addLogFields(fields: LogFields): void {
  const current = scope.getStore();
  if (current) current.fields = { ...current.fields, ...fields };
}

/** The current call's log fields, if any. */
export function callLogFields(): LogFields | undefined {
  return scope.getStore()?.fields;
}
