// W3C Trace Context in gRPC metadata: the `traceparent` (and `tracestate`)
// request headers, written by the host's tracing middleware and read by the
// plugin's, in any language (Go and Python hosts set the same key). Parsed
// here by the W3C rules rather than through OpenTelemetry's global
// propagator, so it works whether or not an application registered one.
import type { Metadata } from "@grpc/grpc-js";

export const TRACEPARENT_KEY = "traceparent";
export const TRACESTATE_KEY = "tracestate";

/** The parts of a traceparent that matter: the ids and the sampled flag. */
export interface TraceParent {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** 16 lowercase hex digits, not all zero: the caller's span. */
  spanId: string;
  /** The trace-flags byte (bit 0: sampled). */
  traceFlags: number;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** "00-<trace id>-<span id>-<flags>" */
export function formatTraceparent(parent: TraceParent): string {
  return `00-${parent.traceId}-${parent.spanId}-${(parent.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

/** The traceparent header's value, or undefined if it is missing or malformed (then the call starts a new trace). */
export function parseTraceparent(value: string): TraceParent | undefined {
  const m = TRACEPARENT.exec(value.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m;
  // Version ff is invalid; version 00 has exactly four fields (later versions may add some).
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return undefined;
  return { traceId: traceId!, spanId: spanId!, traceFlags: parseInt(flags!, 16) };
}

/** The call's trace parent from its metadata (one value; several mean a confused caller: none). */
export function traceParentOf(metadata: Metadata): TraceParent | undefined {
  const values = metadata.get(TRACEPARENT_KEY);
  return values.length === 1 ? parseTraceparent(String(values[0])) : undefined;
}

/** The call's tracestate header, joined as W3C says multiple values are. */
export function traceStateOf(metadata: Metadata): string | undefined {
  const values = metadata.get(TRACESTATE_KEY).map(String);
  return values.length === 0 ? undefined : values.join(",");
}
