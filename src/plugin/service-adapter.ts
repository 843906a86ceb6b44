// The one generic adapter from a generated service definition plus a set of
// promise/async-iterable handlers to grpc-js handlers. Every method of every
// service the plugin serves goes through here: the middleware chain
// (server-middleware.ts), admission (CallGate), cancellation and deadlines
// (AbortSignal), stream backpressure, response encoding (response-encoding.ts)
// and the mapping of errors to statuses (error-mapping.ts).
//
// Hand-written over grpc-js rather than built on nice-grpc's server: in three
// `make bench` runs (BENCH_ONLY=nice) nice-grpc's server lost 12-31% of bare
// grpc-js's calls/s, more than this adapter in each run (docs/architecture.md
// has the table); and it makes its grpc-js Server itself, so the receive
// window (server-receive-window.ts) and the socket's umask could not be set.
import { once } from "node:events";
import type {
  Server,
  sendUnaryData,
  ServerUnaryCall,
  ServerWritableStream,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { MethodDefinitionShape, ServiceDefinitionShape } from "../protocol/service-types.js";
import { ActiveCall } from "./call-context.js";
import { NO_RELEASE, OPEN_GATE, type CallGate, type Release } from "./call-gate.js";
import { unimplemented } from "./driver-error.js";
import { toServiceError } from "./error-mapping.js";
import type { CallContext, ServiceHandlers } from "./handler-types.js";
import type { Logger } from "./logger.js";
import type { LentBytes, MessageType } from "../protocol/message-types.js";
import { preEncoded, responseEncoder, type ResponseEncoder } from "./response-encoding.js";
import { chainedStream, chainedUnary, type ServerMethodInfo, type ServerMiddleware } from "./server-middleware.js";

export interface AdapterOptions {
  log: Logger;
  gate?: CallGate;
  /** Names the implementer in UNIMPLEMENTED messages, e.g. `driver "fake"`. */
  implementer: string;
  /** Response message types by method name: handlers may then answer with partial messages. */
  responseTypes?: ReadonlyMap<string, MessageType>;
  /** The composed middleware (composeServerMiddleware), around admission and the handler. */
  middleware?: ServerMiddleware;
}

/** Registers `handlers` for `definition` on `server`, through the adapter. */
export function addAdaptedService<S extends ServiceDefinitionShape>(
  server: Pick<Server, "addService">,
  definition: S,
  handlers: Partial<ServiceHandlers<S>>,
  options: AdapterOptions,
): void {
  server.addService(preEncoded(definition), adaptService(definition, handlers, options));
}

type AnyUnary = (request: unknown, ctx: CallContext) => Promise<unknown>;
type AnyStreaming = (request: unknown, ctx: CallContext) => AsyncIterable<unknown>;

/** The grpc-js implementation; it answers with encoded bytes, so register it with `preEncoded(definition)`. */
export function adaptService<S extends ServiceDefinitionShape>(
  definition: S,
  handlers: Partial<ServiceHandlers<S>>,
  options: AdapterOptions,
): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    const handler = (handlers as Record<string, unknown>)[name];
    out[name] = adaptMethod(name, method, typeof handler === "function" ? handler.bind(handlers) : undefined, options);
  }
  return out;
}

function adaptMethod(
  name: string,
  method: MethodDefinitionShape,
  handler: ((...args: never[]) => unknown) | undefined,
  options: AdapterOptions,
): UntypedHandleCall {
  if (method.requestStream) {
    throw new Error(
      `${method.path} streams requests; the plugin adapter serves unary and server-streaming methods only`,
    );
  }
  const encode = responseEncoder(method, options.responseTypes?.get(name), options.log);
  const implemented =
    handler ??
    (() => {
      throw unimplemented(`${options.implementer} does not implement ${method.path.split("/").pop()}`);
    });
  const chain = options.middleware;
  if (chain === undefined) {
    return method.responseStream
      ? (call: ServerWritableStream<unknown, unknown>) =>
          void serveStream(name, method.path, implemented as AnyStreaming, encode, call, options)
      : (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) =>
          serveUnary(name, method.path, implemented as AnyUnary, encode, call, callback, options);
  }
  const info: ServerMethodInfo = { path: method.path, method: name, responseStream: method.responseStream };
  const gate = options.gate ?? OPEN_GATE;
  return method.responseStream
    ? (call: ServerWritableStream<unknown, unknown>) =>
        void serveStream(name, method.path, implemented as AnyStreaming, encode, call, options, (handler, active) =>
          chainedStream(chain, info, call.request, active.ctx, admittedStream(name, handler, active, gate)),
        )
    : (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) =>
        serveUnary(name, method.path, implemented as AnyUnary, encode, call, callback, options, (handler, active) =>
          chainedUnary(chain, info, call.request, active.ctx, admittedUnary(name, handler, active, gate)),
        );
}

/**
 * The chain's innermost stage for a unary method: admission, then the handler
 * with the request and context the chain passed down; the turn ends when the
 * handler settles.
 */
function admittedUnary(name: string, handler: AnyUnary, active: ActiveCall, gate: CallGate): AnyUnary {
  return (request, ctx) => {
    const run = (release: Release) => {
      const running = invoke(() => handler(request, ctx));
      running.then(release, release);
      return running;
    };
    const entered = gate.enter(name, active);
    return typeof entered === "function" ? run(entered) : entered.then(run);
  };
}

/** The same for a streaming method: the turn ends when the handler's generator does (closed by the chain on abort). */
function admittedStream(name: string, handler: AnyStreaming, active: ActiveCall, gate: CallGate): AnyStreaming {
  return async function* (request, ctx) {
    const release = await gate.enter(name, active);
    try {
      yield* handler(request, ctx);
    } finally {
      release();
    }
  };
}

function serveUnary(
  name: string,
  path: string,
  handler: AnyUnary,
  encode: ResponseEncoder,
  call: ServerUnaryCall<unknown, unknown>,
  callback: sendUnaryData<unknown>,
  options: AdapterOptions,
  /** With middleware: runs the chain, which admits the call itself. */
  chained?: (handler: AnyUnary, active: ActiveCall) => Promise<unknown>,
): void {
  const active = new ActiveCall(call, name);
  let answered = false;
  const fail = (err: unknown) => {
    if (answered) return;
    answered = true;
    callback(toServiceError(err, active.abortReason, path, options.log));
  };
  const succeed = (response: unknown) => {
    if (answered) return;
    let bytes: LentBytes;
    try {
      bytes = encode(response);
    } catch (err) {
      return fail(err);
    }
    answered = true;
    callback(null, bytes);
  };
  if (chained) {
    const running = invoke(() => chained(handler, active));
    active.whenAborted(fail);
    running.then(succeed, (err: unknown) => {
      if (answered)
        options.log.debug("handler failed after its call was answered", { method: path, error: describe(err) });
      fail(err);
    });
    const finished = () => active.dispose();
    running.then(finished, finished);
    return;
  }
  const run = (release: Release) => {
    const running = invoke(() => handler(call.request, active.ctx));
    // Answer as soon as the call is aborted, even if the handler is slow to notice.
    active.whenAborted(fail);
    running.then(succeed, (err: unknown) => {
      if (answered)
        options.log.debug("handler failed after its call was answered", { method: path, error: describe(err) });
      fail(err);
    });
    // The next queued call runs only once this handler has really finished.
    const finished = () => {
      release();
      active.dispose();
    };
    running.then(finished, finished);
  };
  let admitted: Release | Promise<Release>;
  try {
    admitted = (options.gate ?? OPEN_GATE).enter(name, active);
  } catch (err) {
    fail(err);
    active.dispose();
    return;
  }
  if (typeof admitted === "function") return run(admitted);
  admitted.then(run, (err: unknown) => {
    fail(err);
    active.dispose();
  });
}

async function serveStream(
  name: string,
  path: string,
  handler: AnyStreaming,
  encode: ResponseEncoder,
  call: ServerWritableStream<unknown, unknown>,
  options: AdapterOptions,
  /** With middleware: runs the chain, which admits the call itself. */
  chained?: (handler: AnyStreaming, active: ActiveCall) => AsyncIterable<unknown>,
): Promise<void> {
  const active = new ActiveCall(call, name);
  let release: Release = NO_RELEASE;
  let iterator: AsyncIterator<unknown> | undefined;
  let pending: Promise<unknown> = Promise.resolve();
  try {
    if (chained) {
      iterator = chained(handler, active)[Symbol.asyncIterator]();
    } else {
      release = await (options.gate ?? OPEN_GATE).enter(name, active);
      iterator = handler(call.request, active.ctx)[Symbol.asyncIterator]();
    }
    for (;;) {
      const step = iterator.next();
      pending = step;
      const result = await active.race(step);
      if (result.done) break;
      if (!call.write(encode(result.value))) await drained(call, active.ctx.signal);
    }
    call.end();
  } catch (err) {
    call.emit("error", toServiceError(err, active.abortReason, path, options.log));
    await finish(iterator, pending, path, options.log);
  } finally {
    release();
    active.dispose();
  }
}

/** Lets an abandoned generator run its finally blocks before the gate opens. */
async function finish(
  iterator: AsyncIterator<unknown> | undefined,
  pending: Promise<unknown>,
  path: string,
  log: Logger,
): Promise<void> {
  if (!iterator) return;
  const stillRunning = await pending.then(
    () => true,
    () => false,
  );
  if (!stillRunning) return;
  await Promise.resolve(iterator.return?.()).catch((err: unknown) =>
    log.debug("stream handler failed while being closed", { method: path, error: describe(err) }),
  );
}

/** Backpressure: wait until grpc-js wants more, or the call is aborted. */
async function drained(call: ServerWritableStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  try {
    await once(call, "drain", { signal });
  } catch (err) {
    throw signal.aborted ? signal.reason : err;
  }
}

/** Runs a handler so that a synchronous throw becomes a rejection. */
function invoke<T>(run: () => Promise<T>): Promise<T> {
  try {
    return Promise.resolve(run());
  } catch (err) {
    return Promise.reject(err);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
