// The plugin's one extension point: a chain of middleware around every call
// of the services serve() puts on the socket (DriverService and the plugin
// services alike; unary and server-streaming), given as serve({ middleware })
// and composed here, once. The shape is nice-grpc's server middleware with
// driverplug's CallContext: a middleware is an async generator that calls
// `call.next(request, ctx)` and passes its messages on, so one function sees
// the call start, every message, the end and the error. A unary handler's
// response is the generator's return value; a stream's messages are what it
// yields.
//
// Order: the first middleware listed is the outermost: it sees the call first
// and its outcome last. Inside the last one come the framework's own stages,
// in this order: admission (the mutation queue, and Kill's pre-emption), then
// the handler. So a middleware sees a call before it waits for its turn (an
// audit or auth middleware can refuse it without taking a place in the queue),
// and its time includes that wait. What a middleware throws is mapped to a
// status like a handler's error (DriverError keeps its code; anything else is
// INTERNAL).
import type { CallContext } from "./handler-types.js";

/** What a middleware knows about the method being called. */
export interface ServerMethodInfo {
  /** The full gRPC path, e.g. "/driverplug.driver.v1.DriverService/GetState". */
  readonly path: string;
  /** The handler's name in the service definition, e.g. "getState". */
  readonly method: string;
  /** True for server-streaming methods (Create, Start, WatchState...). */
  readonly responseStream: boolean;
}

/** One call as a middleware sees it. */
export interface ServerMiddlewareCall<Req = unknown, Res = unknown> extends ServerMethodInfo {
  readonly request: Req;
  /**
   * Runs the rest of the chain, then admission and the handler. Unary: the
   * generator returns the response. Streaming: it yields each message.
   */
  next(request: Req, ctx: CallContext): AsyncGenerator<Res, Res | void, undefined>;
}

/**
 * A server middleware: pass the call on with `yield* call.next(...)` (and
 * `return` its result, so a unary response gets through); around it do what
 * you need. It may also answer or refuse (throw a DriverError) without
 * calling next.
 *
 * ```ts
 * const audit: ServerMiddleware = async function* (call, ctx) {
 *   log.info("call", { method: call.method });
 *   return yield* call.next(call.request, ctx);
 * };
 * ```
 */
export type ServerMiddleware = <Req, Res>(
  call: ServerMiddlewareCall<Req, Res>,
  ctx: CallContext,
) => AsyncGenerator<Res, Res | void, undefined>;

/**
 * One middleware made of `middleware` in order, the first outermost;
 * undefined for an empty list, so a plugin without middleware pays for no
 * generator per call.
 */
export function composeServerMiddleware(middleware: readonly ServerMiddleware[] = []): ServerMiddleware | undefined {
  for (const [i, m] of middleware.entries()) {
    if (typeof m !== "function")
      throw new TypeError(
        `serve(): middleware[${i}] is ${m === null ? "null" : typeof m}; a server middleware is a function`,
      );
  }
  return middleware.reduceRight<ServerMiddleware | undefined>(
    (inner, outer) =>
      inner === undefined
        ? outer
        : <Req, Res>(call: ServerMiddlewareCall<Req, Res>, ctx: CallContext) =>
            outer<Req, Res>(
              {
                ...methodInfo(call),
                request: call.request,
                next: (request, nextCtx) => inner<Req, Res>({ ...methodInfo(call), request, next: call.next }, nextCtx),
              },
              ctx,
            ),
    undefined,
  );
}

function methodInfo(call: ServerMethodInfo): ServerMethodInfo {
  return { path: call.path, method: call.method, responseStream: call.responseStream };
}

/** A unary handler behind the chain: the response the chain returns. */
export async function chainedUnary(
  chain: ServerMiddleware,
  method: ServerMethodInfo,
  request: unknown,
  ctx: CallContext,
  run: (request: unknown, ctx: CallContext) => Promise<unknown>,
): Promise<unknown> {
  const generator = chain(
    {
      ...method,
      request,
      // A unary handler's stage returns its response and yields nothing.
      // eslint-disable-next-line require-yield
      next: async function* (req, nextCtx) {
        return await run(req, nextCtx);
      },
    },
    ctx,
  );
  const result = await generator.next();
  if (!result.done) {
    await generator.return(undefined);
    throw new TypeError(`a middleware yielded a message from unary method ${method.path}; return it instead`);
  }
  if (result.value === undefined)
    throw new TypeError(`a middleware ended unary method ${method.path} without returning a response`);
  return result.value;
}

/** A streaming handler behind the chain: the messages the chain yields. */
export function chainedStream(
  chain: ServerMiddleware,
  method: ServerMethodInfo,
  request: unknown,
  ctx: CallContext,
  run: (request: unknown, ctx: CallContext) => AsyncIterable<unknown>,
): AsyncGenerator<unknown, unknown, undefined> {
  return chain(
    {
      ...method,
      request,
      next: async function* (req, nextCtx) {
        yield* run(req, nextCtx);
      },
    },
    ctx,
  );
}
