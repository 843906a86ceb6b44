// The host's one extension point: a chain of middleware around every call of
// a typed client (unary and server-streaming alike), given to launch(),
// reattach() or createTypedClient() and composed here, once per client.
// The shape is nice-grpc's client middleware, on driverplug's own CallOptions
// and grpc-js Metadata: a middleware is an async generator that calls
// `call.next(request, options)` and passes its messages on, so one function
// sees the call start, every message, the end and the error, whether the
// method streams or not. A unary call's response is the generator's return
// value; a stream's responses are what it yields.
//
// Order: the first middleware listed is the outermost: it sees the call first
// and its error last. The framework's own per-call stages (the default
// deadline, abort and plugin-death tracking, the mapping to ClientError) sit
// at the inner end of the same chain, next to the wire: every middleware sees
// the call's outcome as the ClientError the caller gets.
import type { CallOptions } from "./call-options.js";
import { ClientError } from "./client-error.js";

/** What a middleware knows about the method being called. */
export interface ClientMethodInfo {
  /** The full gRPC path, e.g. "/driverplug.driver.v1.DriverService/GetState". */
  readonly path: string;
  /** The method's name in the service definition and on the typed client, e.g. "getState". */
  readonly method: string;
  /** True for server-streaming methods (Create, Start, WatchState...). */
  readonly responseStream: boolean;
}

/** One call as a middleware sees it. */
export interface ClientMiddlewareCall<Req = unknown, Res = unknown> extends ClientMethodInfo {
  readonly request: Req;
  /**
   * Runs the rest of the chain (then the call itself) with this request and
   * these options. Unary: the generator returns the response. Streaming: it
   * yields each response. Failures are thrown as ClientError.
   */
  next(request: Req, options: CallOptions): AsyncGenerator<Res, Res | void, undefined>;
}

/**
 * A client middleware: pass the call on with `yield* call.next(...)` (and
 * `return` its result, so a unary response gets through), around it do what
 * you need. A middleware may change the request or the options (copy the
 * metadata before adding to it), answer without calling next, or retry.
 *
 * ```ts
 * const timing: ClientMiddleware = async function* (call, options) {
 *   const started = performance.now();
 *   try {
 *     return yield* call.next(call.request, options);
 *   } finally {
 *     console.log(call.method, performance.now() - started, "ms");
 *   }
 * };
 * ```
 */
export type ClientMiddleware = <Req, Res>(
  call: ClientMiddlewareCall<Req, Res>,
  options: CallOptions,
) => AsyncGenerator<Res, Res | void, undefined>;

/** The innermost stage: the call itself, as a generator like any middleware's next. */
export type ClientCallRunner = (
  method: ClientMethodInfo,
  request: unknown,
  options: CallOptions,
) => AsyncGenerator<unknown, unknown, undefined>;

/**
 * One middleware made of `middleware` in order, the first outermost; undefined
 * for an empty list, so a client without middleware pays for no generator.
 */
export function composeClientMiddleware(middleware: readonly ClientMiddleware[] = []): ClientMiddleware | undefined {
  for (const [i, m] of middleware.entries()) {
    if (typeof m !== "function")
      throw new TypeError(`middleware[${i}] is ${m === null ? "null" : typeof m}; a client middleware is a function`);
  }
  if (middleware.length === 0) return undefined;
  return middleware.reduceRight<ClientMiddleware | undefined>(
    (inner, outer) =>
      inner === undefined
        ? outer
        : <Req, Res>(call: ClientMiddlewareCall<Req, Res>, options: CallOptions) =>
            outer<Req, Res>(
              {
                ...methodInfo(call),
                request: call.request,
                next: (request, nextOptions) =>
                  inner<Req, Res>({ ...methodInfo(call), request, next: call.next }, nextOptions),
              },
              options,
            ),
    undefined,
  );
}

function methodInfo(call: ClientMethodInfo): ClientMethodInfo {
  return { path: call.path, method: call.method, responseStream: call.responseStream };
}

/** A unary call through the chain: the response the chain returns. Anything thrown reaches the caller as a ClientError. */
export async function chainedUnary(
  chain: ClientMiddleware,
  method: ClientMethodInfo,
  request: unknown,
  options: CallOptions,
  run: ClientCallRunner,
): Promise<unknown> {
  const generator = chain({ ...method, request, next: (req, opts) => run(method, req, opts) }, options);
  try {
    const result = await generator.next();
    if (!result.done) {
      await generator.return(undefined);
      throw new TypeError(`a middleware yielded a message from unary method ${method.path}; return it instead`);
    }
    if (result.value === undefined)
      throw new TypeError(`a middleware ended unary method ${method.path} without returning a response`);
    return result.value;
  } catch (err) {
    throw ClientError.from(err, method.path);
  }
}

/** A server-streaming call through the chain: its messages. Anything thrown reaches the caller as a ClientError. */
export async function* chainedStream(
  chain: ClientMiddleware,
  method: ClientMethodInfo,
  request: unknown,
  options: CallOptions,
  run: ClientCallRunner,
): AsyncGenerator<unknown> {
  try {
    yield* chain({ ...method, request, next: (req, opts) => run(method, req, opts) }, options);
  } catch (err) {
    throw ClientError.from(err, method.path);
  }
}
