// The typed promise client, derived generically from a ts-proto grpc-js
// service definition: each unary method becomes `(request, options?) =>
// Promise<Response>`, each server-streaming method `(request, options?) =>
// AsyncIterable<Response>`. One adapter for all methods; no per-RPC code.
import { Code } from "../protocol/status.js";
import { Metadata, type Client, type ClientReadableStream, type ClientUnaryCall } from "@grpc/grpc-js";
import type {
  MethodDefinitionShape,
  RequestOf,
  ResponseOf,
  ServiceDefinitionShape,
} from "../protocol/service-types.js";
import { deadlineFor, type CallDefaults, type CallOptions } from "./call-options.js";
import { ClientError, toClientError } from "./client-error.js";
import { DeadlineWatch, grpcTimeout, type Watched } from "./deadline-watch.js";

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
 * A passed deadline is the plugin's to enforce (it got grpc-timeout): the
 * caller fails at once, but the call is cancelled only this long after, so
 * the plugin's handler sees DEADLINE_EXCEEDED rather than a cancel racing it.
 * The cancel is the backstop for a plugin that ignores grpc-timeout.
 */
export const DEADLINE_CANCEL_GRACE_MS = 1000;

/**
 * Everything one call needs to stop cleanly: its abort listener, its tracker
 * entry and its deadline, removed together by `cleanup` so nothing outlives
 * the call.
 */
class CallGuard implements Watched {
  private override: ClientError | undefined;
  private readonly untrack: () => void;
  private readonly onAbort: (() => void) | undefined;
  /** True once the deadline passed: the plugin ends the call, the backstop cancels it later. */
  expired = false;

  constructor(
    private readonly path: string,
    private readonly options: CallOptions,
    private readonly tracker: CallTracker,
    private readonly deadlines: DeadlineWatch,
    private readonly startedAt: number,
    readonly deadlineAt: number,
    private readonly cancel: () => void,
    /** Delivers the failure to the caller now, without waiting for grpc-js to end the call. */
    private readonly failNow: (err: ClientError) => void,
  ) {
    if (options.signal) {
      this.onAbort = () => this.end(abortError(path, options.signal!));
      options.signal.addEventListener("abort", this.onAbort, { once: true });
    }
    this.untrack = tracker.track((details) => this.end(new ClientError(path, Code.UNAVAILABLE, details)));
    if (deadlineAt !== Infinity) deadlines.watch(this);
  }

  /** Called by the DeadlineWatch once the deadline passed. */
  expire(): void {
    if (this.override) return;
    this.expired = true;
    this.override = new ClientError(
      this.path,
      Code.DEADLINE_EXCEEDED,
      `no answer within ${this.deadlineAt - this.startedAt} ms (the call's deadline)`,
    );
    this.failNow(this.override);
    // Only expired calls get a timer of their own; cancelling an ended call is a no-op.
    setTimeout(this.cancel, DEADLINE_CANCEL_GRACE_MS).unref();
  }

  cleanup(): void {
    if (this.onAbort) this.options.signal!.removeEventListener("abort", this.onAbort);
    this.untrack();
    if (this.deadlineAt !== Infinity) this.deadlines.unwatch(this);
  }

  /** The caller's abort, the deadline or the plugin's death, if one ended the call; else grpc-js's status, explained. */
  async failure(err: unknown): Promise<ClientError> {
    if (this.override) return this.override;
    return this.tracker.explain(toClientError(this.path, err));
  }

  private end(why: ClientError): void {
    this.override ??= why;
    this.cancel();
  }
}

/** A method's default deadline, and the request metadata of a call that keeps it and brings no metadata. */
interface MethodDefaults {
  timeoutMs: number | undefined;
  /**
   * Shared by those calls: grpc-js copies a call's metadata before it adds
   * to it, and the grpc-timeout of a default deadline is the same every time.
   */
  metadata: Metadata;
}

function methodDefaults(timeoutMs: number | undefined): MethodDefaults {
  const deadline = deadlineFor({}, timeoutMs, 0);
  const metadata = new Metadata();
  if (deadline !== undefined) metadata.set("grpc-timeout", grpcTimeout(deadline));
  return { timeoutMs, metadata };
}

/**
 * The request metadata: the caller's (copied, never changed) or a fresh one,
 * with the deadline as grpc-timeout so the plugin, in any language, sees it.
 */
function requestMetadata(options: CallOptions, defaults: MethodDefaults, deadlineAt: number, now: number): Metadata {
  if (!options.metadata && !options.deadline && options.timeoutMs === undefined) return defaults.metadata;
  if (deadlineAt === Infinity) return options.metadata ?? new Metadata();
  const metadata = options.metadata ? options.metadata.clone() : new Metadata();
  metadata.set("grpc-timeout", grpcTimeout(deadlineAt - now));
  return metadata;
}

/** Shared by every call of one client. */
interface ClientParts {
  client: Client;
  tracker: CallTracker;
  deadlines: DeadlineWatch;
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
      // No grpc-js deadline (it would arm a timer per call): grpc-timeout
      // tells the plugin, the client's DeadlineWatch fails the caller (see deadline-watch.ts).
      call = parts.client.makeUnaryRequest(
        path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        requestMetadata(options, defaults, deadlineAt, startedAt),
        NO_CALL_OPTIONS,
        (err, response) => {
          // grpc-js always answers asynchronously, so the guard exists by now.
          guard?.cleanup();
          if (!err) return resolve(response);
          void (guard ? guard.failure(err) : Promise.resolve(toClientError(path, err))).then(reject);
        },
      );
    } catch (err) {
      return reject(closedError(path, err));
    }
    guard = new CallGuard(
      path,
      options,
      parts.tracker,
      parts.deadlines,
      startedAt,
      deadlineAt,
      () => call.cancel(),
      reject,
    );
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
      requestMetadata(options, defaults, deadlineAt, startedAt),
      NO_CALL_OPTIONS,
    );
  } catch (err) {
    throw closedError(path, err);
  }
  // At the deadline the iteration ends at once: destroying the readable side
  // fails its iterator, while the call itself is left for the plugin to end.
  const guard = new CallGuard(
    path,
    options,
    parts.tracker,
    parts.deadlines,
    startedAt,
    deadlineAt,
    () => call.cancel(),
    (err) => {
      // grpc-js still emits the plugin's status as 'error' later; with the
      // iterator gone, an unheard 'error' would throw.
      call.on("error", ignore);
      call.destroy(err);
    },
  );
  try {
    for await (const message of call) yield message;
  } catch (err) {
    throw await guard.failure(err);
  } finally {
    guard.cleanup();
    // Ends the stream on the plugin's side too when the caller stops early
    // (after its deadline, the plugin ends it, or the backstop cancels it).
    if (!guard.expired) call.cancel();
  }
}

const NO_CALL_OPTIONS = Object.freeze({});

const ignore = () => {};

export interface TypedClientOptions {
  defaults?: CallDefaults;
  tracker?: CallTracker;
}

/** Builds the typed client for `definition` over an existing grpc-js channel. */
export function createTypedClient<S extends ServiceDefinitionShape>(
  definition: S,
  client: Client,
  options: TypedClientOptions = {},
): TypedClient<S> {
  const parts: ClientParts = { client, tracker: options.tracker ?? untracked, deadlines: new DeadlineWatch() };
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    if (method.requestStream) continue;
    const defaults = methodDefaults(options.defaults?.timeoutMs(name, method));
    out[name] = method.responseStream
      ? (request: unknown, callOptions: CallOptions = {}) => callStream(parts, method, request, callOptions, defaults)
      : (request: unknown, callOptions: CallOptions = {}) => callUnary(parts, method, request, callOptions, defaults);
  }
  return Object.freeze(out) as TypedClient<S>;
}
