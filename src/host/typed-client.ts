// The typed promise client, derived generically from a ts-proto grpc-js
// service definition: each unary method becomes `(request, options?) =>
// Promise<Response>`, each server-streaming method `(request, options?) =>
// AsyncIterable<Response>`. One adapter for all methods; no per-RPC code.
// Hand-written over grpc-js rather than built on nice-grpc's client: in three
// `make bench` runs (BENCH_ONLY=nice) nice-grpc's client with a deadline lost
// 13-16% of bare grpc-js's calls/s, more than this client in each run, and it
// passes no call options to grpc-js, so a deadline could not travel as
// grpc-js's own (docs/architecture.md has the table).
import { Code } from "../protocol/status.js";
import { Metadata, type Client, type ClientReadableStream, type ClientUnaryCall } from "@grpc/grpc-js";
import type {
  MethodDefinitionShape,
  RequestOf,
  ResponseOf,
  ServiceDefinitionShape,
} from "../protocol/service-types.js";
import { deadlineFor, type CallDefaults, type CallOptions } from "./call-options.js";
import { ClientError } from "./client-error.js";
import {
  chainedStream,
  chainedUnary,
  composeClientMiddleware,
  type ClientCallRunner,
  type ClientMiddleware,
} from "./client-middleware.js";
import { formatSeconds } from "../protocol/duration-text.js";

type UnaryMethod<M> = (request: RequestOf<M>, options?: CallOptions) => Promise<ResponseOf<M>>;
type StreamMethod<M> = (request: RequestOf<M>, options?: CallOptions) => AsyncIterable<ResponseOf<M>>;

/** Client-streaming and bidi methods are left out: the driver contract has none. */
export type TypedClient<S extends ServiceDefinitionShape> = {
  [K in keyof S as S[K]["requestStream"] extends true ? never : K]: S[K]["responseStream"] extends true
    ? StreamMethod<S[K]>
    : UnaryMethod<S[K]>;
};

/**
 * How a client learns about the plugin's process: `track` registers an
 * in-flight call that is failed at once (UNAVAILABLE, with `details`) when the
 * plugin dies; `explain` turns a transport failure into that same message
 * when the plugin's death caused it.
 */
export interface CallTracker {
  track(fail: (details: string) => void): () => void;
  explain(err: ClientError): Promise<ClientError>;
}

export const untracked: CallTracker = {
  track: () => () => {},
  explain: async (err) => err,
};

/** grpc-js throws synchronously, rather than failing the call, once the channel is closed. */
function closedError(path: string, err: unknown): ClientError {
  return new ClientError(
    path,
    Code.UNAVAILABLE,
    `the client is closed (${(err as Error).message}): the plugin handle was closed or detached`,
    new Metadata(),
    { cause: err },
  );
}

function abortError(path: string, signal: AbortSignal): ClientError {
  return new ClientError(path, Code.CANCELLED, "the call was cancelled by its AbortSignal", new Metadata(), {
    cause: signal.reason,
  });
}

/**
 * Everything one call needs to stop cleanly: its abort listener and its
 * tracker entry, removed together by `cleanup` so nothing outlives the call.
 * The deadline is grpc-js's own (the `deadline` call option): it ends the
 * call on both sides, and the plugin's handler sees it as ctx.deadline.
 */
class CallGuard {
  private override: ClientError | undefined;
  private readonly untrack: () => void;
  private readonly onAbort: (() => void) | undefined;

  constructor(
    private readonly path: string,
    private readonly options: CallOptions,
    private readonly tracker: CallTracker,
    private readonly startedAt: number,
    private readonly deadlineAt: number,
    private readonly cancel: () => void,
  ) {
    if (options.signal) {
      this.onAbort = () => this.end(abortError(path, options.signal!));
      options.signal.addEventListener("abort", this.onAbort, { once: true });
    }
    this.untrack = tracker.track((details) => this.end(new ClientError(path, Code.UNAVAILABLE, details)));
  }

  cleanup(): void {
    if (this.onAbort) this.options.signal!.removeEventListener("abort", this.onAbort);
    this.untrack();
  }

  /** The caller's abort or the plugin's death, if one ended the call; else grpc-js's status, explained. */
  async failure(err: unknown): Promise<ClientError> {
    if (this.override) return this.override;
    return this.tracker.explain(deadlineWorded(ClientError.from(err, this.path), this.startedAt, this.deadlineAt));
  }

  private end(why: ClientError): void {
    this.override ??= why;
    this.cancel();
  }
}

/**
 * A call that ran out of time says so in seconds, whichever side noticed first
 * (grpc-js's "Deadline exceeded after 9.998s,LB pick..." or the plugin's
 * server); grpc-js's text stays as the cause. A DEADLINE_EXCEEDED that comes
 * before the call's deadline is the driver's own (a boot that timed out) and
 * keeps its message.
 */
function deadlineWorded(err: ClientError, startedAt: number, deadlineAt: number): ClientError {
  if (err.code !== Code.DEADLINE_EXCEEDED || deadlineAt === Infinity) return err;
  if (Date.now() + DEADLINE_CLOCK_TOLERANCE_MS < deadlineAt) return err;
  return new ClientError(
    err.path,
    Code.DEADLINE_EXCEEDED,
    `no answer within ${formatSeconds(deadlineAt - startedAt)} (the call's deadline)`,
    err.metadata,
    { cause: err },
  );
}

/** grpc-js's deadline timer and Date.now() are different clocks. */
const DEADLINE_CLOCK_TOLERANCE_MS = 5;

/** A method's default deadline. */
interface MethodDefaults {
  timeoutMs: number | undefined;
}

/** grpc-js copies a call's metadata before it adds to it, so calls that bring none can share one. */
const NO_METADATA = new Metadata();

/** grpc-js's call options: only the deadline, shared by calls without one. */
function grpcCallOptions(deadlineAt: number): CallOptionsOfGrpc {
  return deadlineAt === Infinity ? NO_CALL_OPTIONS : { deadline: deadlineAt };
}

type CallOptionsOfGrpc = { deadline?: number };

/** Shared by every call of one client. */
interface ClientParts {
  client: Client;
  tracker: CallTracker;
}

function callUnary(
  parts: ClientParts,
  method: MethodDefinitionShape,
  request: unknown,
  options: CallOptions,
  defaults: MethodDefaults,
): Promise<unknown> {
  const { path } = method;
  if (options.signal?.aborted) return Promise.reject(abortError(path, options.signal));
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const deadlineAt = deadlineFor(options, defaults.timeoutMs, startedAt) ?? Infinity;
    let guard: CallGuard | undefined;
    let call: ClientUnaryCall;
    try {
      call = parts.client.makeUnaryRequest(
        path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        options.metadata ?? NO_METADATA,
        grpcCallOptions(deadlineAt),
        (err, response) => {
          // grpc-js always answers asynchronously, so the guard exists by now.
          guard?.cleanup();
          if (!err) return resolve(response);
          void (guard ? guard.failure(err) : Promise.resolve(ClientError.from(err, path))).then(reject);
        },
      );
    } catch (err) {
      return reject(closedError(path, err));
    }
    guard = new CallGuard(path, options, parts.tracker, startedAt, deadlineAt, () => call.cancel());
  });
}

async function* callStream(
  parts: ClientParts,
  method: MethodDefinitionShape,
  request: unknown,
  options: CallOptions,
  defaults: MethodDefaults,
): AsyncGenerator<unknown> {
  const { path } = method;
  if (options.signal?.aborted) throw abortError(path, options.signal);
  const startedAt = Date.now();
  const deadlineAt = deadlineFor(options, defaults.timeoutMs, startedAt) ?? Infinity;
  let call: ClientReadableStream<unknown>;
  try {
    call = parts.client.makeServerStreamRequest(
      path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      options.metadata ?? NO_METADATA,
      grpcCallOptions(deadlineAt),
    );
  } catch (err) {
    throw closedError(path, err);
  }
  const guard = new CallGuard(path, options, parts.tracker, startedAt, deadlineAt, () => call.cancel());
  try {
    for await (const message of call) yield message;
  } catch (err) {
    throw await guard.failure(err);
  } finally {
    guard.cleanup();
    // Ends the stream on the plugin's side too when the caller stops early.
    call.cancel();
  }
}

const NO_CALL_OPTIONS: CallOptionsOfGrpc = Object.freeze({});

export interface TypedClientOptions {
  defaults?: CallDefaults;
  tracker?: CallTracker;
  /** Around every call, the first listed outermost (client-middleware.ts). */
  middleware?: readonly ClientMiddleware[];
}

/** Builds the typed client for `definition` over an existing grpc-js channel. */
export function createTypedClient<S extends ServiceDefinitionShape>(
  definition: S,
  client: Client,
  options: TypedClientOptions = {},
): TypedClient<S> {
  const parts: ClientParts = { client, tracker: options.tracker ?? untracked };
  const chain = composeClientMiddleware(options.middleware);
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    if (method.requestStream) continue;
    const defaults: MethodDefaults = { timeoutMs: options.defaults?.timeoutMs(name, method) };
    if (chain === undefined) {
      out[name] = method.responseStream
        ? (request: unknown, callOptions: CallOptions = {}) => callStream(parts, method, request, callOptions, defaults)
        : (request: unknown, callOptions: CallOptions = {}) => callUnary(parts, method, request, callOptions, defaults);
      continue;
    }
    const info = { path: method.path, method: name, responseStream: method.responseStream };
    // The call itself, as the chain's innermost next.
    const run: ClientCallRunner = method.responseStream
      ? (_info, request, callOptions) => callStream(parts, method, request, callOptions, defaults)
      : // A unary call's stage returns its response and yields nothing.
        // eslint-disable-next-line require-yield
        async function* (_info, request, callOptions) {
          return await callUnary(parts, method, request, callOptions, defaults);
        };
    out[name] = method.responseStream
      ? (request: unknown, callOptions: CallOptions = {}) => chainedStream(chain, info, request, callOptions, run)
      : (request: unknown, callOptions: CallOptions = {}) => chainedUnary(chain, info, request, callOptions, run);
  }
  return Object.freeze(out) as TypedClient<S>;
}
