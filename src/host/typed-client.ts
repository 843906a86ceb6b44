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
import { DeadlineWatch, type Watched } from "./deadline-watch.js";

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
 * Everything one call needs to stop cleanly: its abort listener, its tracker
 * entry and its deadline, removed together by `cleanup` so nothing outlives
 * the call.
 */
class CallGuard implements Watched {
  private override: ClientError | undefined;
  private readonly untrack: () => void;
  private readonly onAbort: (() => void) | undefined;

  constructor(
    private readonly path: string,
    private readonly options: CallOptions,
    private readonly tracker: CallTracker,
    private readonly deadlines: DeadlineWatch,
    private readonly startedAt: number,
    readonly deadlineAt: number,
    private readonly cancel: () => void,
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
    this.end(
      new ClientError(
        this.path,
        Code.DEADLINE_EXCEEDED,
        `no answer within ${this.deadlineAt - this.startedAt} ms (the call's deadline)`,
      ),
    );
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
  defaultMs: number | undefined,
): Promise<unknown> {
  const { path } = method;
  if (options.signal?.aborted) return Promise.reject(abortError(path, options.signal));
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const deadlineAt = deadlineFor(options, defaultMs, startedAt) ?? Infinity;
    let guard: CallGuard | undefined;
    let call: ClientUnaryCall;
    try {
      // No grpc-js deadline: the client's DeadlineWatch enforces it (see deadline-watch.ts).
      call = parts.client.makeUnaryRequest(
        path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        options.metadata ?? new Metadata(),
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
    guard = new CallGuard(path, options, parts.tracker, parts.deadlines, startedAt, deadlineAt, () => call.cancel());
  });
}

async function* callStream(
  parts: ClientParts,
  method: MethodDefinitionShape,
  request: unknown,
  options: CallOptions,
  defaultMs: number | undefined,
): AsyncGenerator<unknown> {
  const { path } = method;
  if (options.signal?.aborted) throw abortError(path, options.signal);
  const startedAt = Date.now();
  const deadlineAt = deadlineFor(options, defaultMs, startedAt) ?? Infinity;
  let call: ClientReadableStream<unknown>;
  try {
    call = parts.client.makeServerStreamRequest(
      path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      options.metadata ?? new Metadata(),
      NO_CALL_OPTIONS,
    );
  } catch (err) {
    throw closedError(path, err);
  }
  const guard = new CallGuard(path, options, parts.tracker, parts.deadlines, startedAt, deadlineAt, () =>
    call.cancel(),
  );
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

const NO_CALL_OPTIONS = Object.freeze({});

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
    const defaultMs = options.defaults?.timeoutMs(name, method);
    out[name] = method.responseStream
      ? (request: unknown, callOptions: CallOptions = {}) => callStream(parts, method, request, callOptions, defaultMs)
      : (request: unknown, callOptions: CallOptions = {}) => callUnary(parts, method, request, callOptions, defaultMs);
  }
  return Object.freeze(out) as TypedClient<S>;
}
