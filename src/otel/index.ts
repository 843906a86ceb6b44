// driverplug/otel: OpenTelemetry tracing as one middleware per side, off
// unless added. The host's middleware starts a client span per call (a child
// of the active span) and sends its context as W3C `traceparent` in the
// call's metadata; the plugin's continues that trace in a server span around
// the handler (active for the handler's own OpenTelemetry calls) and adds
// trace_id and span_id to every log line the call writes. Needs
// @opentelemetry/api (an optional peer dependency: only this entry loads it).
//
//   launch("qemu", { middleware: [otelClientMiddleware()] })
//   serve({ ..., middleware: [otelServerMiddleware()] })
import {
  context,
  createTraceState,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from "@opentelemetry/api";
import { Metadata } from "@grpc/grpc-js";
import type { ClientMiddleware } from "../host/client-middleware.js";
import type { ServerMiddleware } from "../plugin/server-middleware.js";
import { withLogFields } from "../plugin/call-scope.js";
import { statusName } from "../protocol/status.js";
import { formatTraceparent, traceParentOf, traceStateOf, TRACEPARENT_KEY, TRACESTATE_KEY } from "./traceparent.js";

export {
  formatTraceparent,
  parseTraceparent,
  TRACEPARENT_KEY,
  TRACESTATE_KEY,
  type TraceParent,
} from "./traceparent.js";

export interface OtelMiddlewareOptions {
  /** Default: the global tracer provider's tracer "driverplug". */
  tracer?: Tracer;
}

const TRACER_NAME = "driverplug";

/** "/pkg.Service/Method" as the span name OpenTelemetry's RPC conventions use, and its attributes. */
function rpcSpan(path: string): { name: string; attributes: Attributes } {
  const name = path.startsWith("/") ? path.slice(1) : path;
  const slash = name.lastIndexOf("/");
  return {
    name,
    attributes: { "rpc.system": "grpc", "rpc.service": name.slice(0, slash), "rpc.method": name.slice(slash + 1) },
  };
}

/** Records a failure's gRPC status (numeric `code` on ClientError and DriverError alike). */
function failed(span: Span, err: unknown): void {
  const code = typeof (err as { code?: unknown })?.code === "number" ? (err as { code: number }).code : 2;
  span.setAttribute("rpc.grpc.status_code", code);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: `${statusName(code)}: ${(err as Error)?.message ?? String(err)}`,
  });
}

/**
 * The host's tracing middleware: a CLIENT span per call, and its context in
 * the call's metadata as `traceparent` (and `tracestate`).
 */
export function otelClientMiddleware(options: OtelMiddlewareOptions = {}): ClientMiddleware {
  return async function* otelClient(call, callOptions) {
    const tracer = options.tracer ?? trace.getTracer(TRACER_NAME);
    const { name, attributes } = rpcSpan(call.path);
    const span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, context.active());
    const sc = span.spanContext();
    // The caller's metadata is theirs: copied before adding to it.
    const metadata = callOptions.metadata ? callOptions.metadata.clone() : new Metadata();
    if (isSpanContextValid(sc)) {
      metadata.set(TRACEPARENT_KEY, formatTraceparent(sc));
      const state = sc.traceState?.serialize();
      if (state) metadata.set(TRACESTATE_KEY, state);
    }
    try {
      const result = yield* call.next(call.request, { ...callOptions, metadata });
      span.setAttribute("rpc.grpc.status_code", 0);
      return result;
    } catch (err) {
      failed(span, err);
      throw err;
    } finally {
      span.end();
    }
  };
}

/** The remote parent a call's metadata names, as a context (ROOT_CONTEXT when it names none). */
function parentContext(metadata: Metadata): Context {
  const parent = traceParentOf(metadata);
  if (!parent) return ROOT_CONTEXT;
  const state = traceStateOf(metadata);
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: parent.traceId,
    spanId: parent.spanId,
    traceFlags: parent.traceFlags & TraceFlags.SAMPLED,
    isRemote: true,
    ...(state ? { traceState: createTraceState(state) } : {}),
  });
}

/**
 * The plugin's tracing middleware: a SERVER span per call, the child of the
 * host's span when the call carries a traceparent (with no tracer provider
 * registered in the plugin, the host's span context itself). The span is the
 * active one while the handler runs, and every log line of the call gets
 * trace_id and span_id.
 */
export function otelServerMiddleware(options: OtelMiddlewareOptions = {}): ServerMiddleware {
  return async function* otelServer(call, ctx) {
    const tracer = options.tracer ?? trace.getTracer(TRACER_NAME);
    const { name, attributes } = rpcSpan(call.path);
    const parent = parentContext(ctx.metadata);
    const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
    const active = trace.setSpan(parent, span);
    const sc = span.spanContext();
    // Each step of the handler runs with the span active: a generator's body
    // runs in the context of whoever resumes it, so every next() is wrapped.
    const inner = context.with(active, () => call.next(call.request, ctx));
    const steps = isSpanContextValid(sc) ? withLogFields({ trace_id: sc.traceId, span_id: sc.spanId }, inner) : inner;
    let finished = false;
    try {
      for (;;) {
        const step = await context.with(active, () => steps.next());
        if (step.done) {
          finished = true;
          span.setAttribute("rpc.grpc.status_code", 0);
          return step.value;
        }
        yield step.value;
      }
    } catch (err) {
      finished = true;
      failed(span, err);
      throw err;
    } finally {
      // Closed early (the call was aborted): end the handler's generator too.
      if (!finished) await context.with(active, () => steps.return(undefined)).catch(() => undefined);
      span.end();
    }
  };
}
