// The shape a driver author implements, derived from a generated service
// definition: unary methods are async functions, server-streaming methods are
// async generators, and either may answer with partial messages (unset fields
// take their defaults). Nothing here is written per RPC.
import type { Metadata } from "@grpc/grpc-js";
import type { PartialMessage } from "../protocol/partial-message.js";
import type { RequestOf, ResponseOf, ServiceDefinitionShape } from "../protocol/service-types.js";

/** What every handler receives next to its request. */
export interface CallContext {
  /** Fires when the client cancels, the deadline passes, Kill pre-empts the call or the plugin stops. */
  readonly signal: AbortSignal;
  /** The request metadata (headers) the client sent. */
  readonly metadata: Metadata;
  /** The method's name in the service definition, e.g. "create". */
  readonly method: string;
  /**
   * When the host's deadline for this call passes (ctx.signal then fires with
   * DEADLINE_EXCEEDED), or undefined when the call has none. A Start can
   * budget its boot wait against it: `ctx.deadline.getTime() - Date.now()`.
   */
  readonly deadline: Date | undefined;
}

/** One handler, chosen by whether the method streams its responses. */
export type Handler<M> = M extends { responseStream: true }
  ? (request: RequestOf<M>, ctx: CallContext) => AsyncIterable<PartialMessage<ResponseOf<M>>>
  : (request: RequestOf<M>, ctx: CallContext) => Promise<PartialMessage<ResponseOf<M>>>;

/** Handlers for every method of a service definition. */
export type ServiceHandlers<S extends ServiceDefinitionShape> = { -readonly [K in keyof S]: Handler<S[K]> };
