// Per-call options of the typed client, and the default deadlines: a short
// one for queries, a long one for the RPCs the .proto marks long_running
// (Create and Start streams included), none for open_ended ones (WatchState,
// which may rightly run for hours).
import type { Metadata } from "@grpc/grpc-js";
import { findDriverRpc } from "../protocol/rpc-options.js";
import type { MethodDefinitionShape } from "../protocol/service-types.js";

export interface CallOptions {
  /**
   * Fails the call with DEADLINE_EXCEEDED after this many ms. 0 or Infinity: no
   * deadline. It is sent as grpc-timeout: the plugin's handler sees its signal
   * (or context) end with DEADLINE_EXCEEDED.
   */
  timeoutMs?: number;
  /** An absolute deadline; wins over timeoutMs. */
  deadline?: Date;
  /** Aborting it cancels the call, which then fails with CANCELLED. */
  signal?: AbortSignal;
  metadata?: Metadata;
}

export interface CallDefaults {
  /** Default timeout of a method, in ms; undefined for none. */
  timeoutMs(name: string, method: MethodDefinitionShape): number | undefined;
}

export const QUERY_TIMEOUT_MS = 10_000;
export const LIFECYCLE_TIMEOUT_MS = 10 * 60_000;

export const driverCallDefaults: CallDefaults = {
  timeoutMs(_name, method) {
    // DriverService's RPCs say in the .proto how long they may run.
    const rpc = findDriverRpc(method.path);
    if (rpc?.openEnded) return undefined;
    if (rpc?.longRunning) return LIFECYCLE_TIMEOUT_MS;
    // Streams of other services may rightly run for hours.
    return method.responseStream && !rpc ? undefined : QUERY_TIMEOUT_MS;
  },
};

/** A call's deadline in epoch ms, or undefined for none. */
export function deadlineFor(options: CallOptions, defaultMs: number | undefined, now = Date.now()): number | undefined {
  if (options.deadline) return options.deadline.getTime();
  const ms = options.timeoutMs ?? defaultMs;
  if (ms === undefined || ms === 0 || ms === Infinity) return undefined;
  if (!(ms > 0)) throw new RangeError(`timeoutMs must be a positive number of milliseconds, 0 or Infinity; got ${ms}`);
  return now + ms;
}
