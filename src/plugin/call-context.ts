// One call's abort state and the CallContext its handler receives. A call is
// aborted when the client cancels, when its deadline (the grpc-timeout the
// host sent) passes (grpc-js's server ends the call itself and reports it as
// cancelled, which is told apart by the clock) or when someone else (Kill)
// aborts it. Most calls are quick queries that never look at ctx.signal, and a
// client's cancel needs no answer (grpc-js has already ended the call), so the
// AbortController behind ctx.signal and the 'cancelled' listener feeding it
// are set up only when something waits on the abort: a handler reading
// ctx.signal, a race (a queued call, a stream) or an abort-or-answer watch (a
// mutating call Kill may pre-empt). No timer of ours per call (grpc-js arms
// one for a call that carries a deadline).
import type { Metadata } from "@grpc/grpc-js";
import type { EventEmitter } from "node:events";
import { cancelled, deadlineExceeded, type DriverError } from "./driver-error.js";
import type { CallContext } from "./handler-types.js";

interface ServerCallLike extends EventEmitter {
  metadata: Metadata;
  /** grpc-js sets it before it emits 'cancelled'. */
  cancelled: boolean;
  getDeadline(): Date | number;
}

export class ActiveCall {
  readonly ctx: CallContext;
  private controller: AbortController | undefined;
  private reason: DriverError | undefined;
  /** Who waits on the abort (a race, an abort-or-answer watch): several may at once. Made on first use. */
  private waiters: Array<(reason: DriverError) => void> | undefined;
  private onCancel: (() => void) | undefined;

  constructor(
    private readonly call: ServerCallLike,
    readonly method: string,
  ) {
    this.ctx = new HandlerContext(this);
  }

  /**
   * Why the call was aborted, or undefined while it runs. Reading it changes
   * nothing: a cancel grpc-js reported while nothing listened gives the reason
   * that cancel means, without aborting the call here.
   */
  get abortReason(): DriverError | undefined {
    if (this.reason) return this.reason;
    return this.call.cancelled ? this.cancelReason() : undefined;
  }

  /** Aborts the call once; later reasons are ignored. */
  abort(reason: DriverError): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller?.abort(reason);
    const waiters = this.waiters;
    this.waiters = undefined;
    if (waiters) for (const waiter of waiters) waiter(reason);
  }

  /**
   * Settles with `promise` unless the call is aborted first (then rejects
   * with the reason).
   */
  race<T>(promise: Promise<T>): Promise<T> {
    if (this.watchCancel()) return Promise.reject(this.reason);
    return new Promise<T>((resolve, reject) => {
      const stop = this.onAbort(reject);
      promise.then(
        (value) => {
          stop();
          resolve(value);
        },
        (err: unknown) => {
          stop();
          reject(err);
        },
      );
    });
  }

  /**
   * Runs `then` at most once, when the call is aborted (at once if it already
   * is). It does not listen for the client's cancel by itself: the client has
   * its answer then; it is for aborts from this side (Kill) and for calls
   * whose signal is being watched anyway.
   */
  whenAborted(then: (reason: DriverError) => void): void {
    if (this.reason) then(this.reason);
    else this.onAbort(then);
  }

  dispose(): void {
    this.waiters = undefined;
    if (this.onCancel) this.call.off("cancelled", this.onCancel);
  }

  /** The call's signal, made on first use and already aborted if the call is. */
  signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (!this.watchCancel()) return this.controller.signal;
      this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** The request metadata (headers) the client sent. */
  get metadata(): Metadata {
    return this.call.metadata;
  }

  /** When the host's deadline for this call passes; undefined for a call without one. */
  get deadline(): Date | undefined {
    const deadline = this.call.getDeadline();
    const at = deadline instanceof Date ? deadline.getTime() : deadline;
    return Number.isFinite(at) ? new Date(at) : undefined;
  }

  /** Adds a waiter on the abort; the returned function removes it. */
  private onAbort(waiter: (reason: DriverError) => void): () => void {
    (this.waiters ??= []).push(waiter);
    return () => {
      const at = this.waiters?.indexOf(waiter) ?? -1;
      if (at >= 0) this.waiters!.splice(at, 1);
    };
  }

  /**
   * Starts listening for the client's cancel (once); true if the call is
   * already aborted, which includes a cancel grpc-js reported before anyone
   * listened (noticed and turned into the abort here).
   */
  private watchCancel(): boolean {
    if (!this.reason && this.call.cancelled) this.abort(this.cancelReason());
    if (this.reason) return true;
    if (!this.onCancel) {
      this.onCancel = () => this.abort(this.cancelReason());
      this.call.on("cancelled", this.onCancel);
    }
    return false;
  }

  /**
   * grpc-js reports the call's deadline passing (it got grpc-timeout) and the
   * client's cancel the same way; the clock tells them apart. A small
   * tolerance: grpc-js's timer and Date.now() are different clocks.
   */
  private cancelReason(): DriverError {
    const deadline = this.call.getDeadline();
    const at = deadline instanceof Date ? deadline.getTime() : deadline;
    return Number.isFinite(at) && Date.now() >= at - DEADLINE_CLOCK_TOLERANCE_MS
      ? deadlineExceeded(`the deadline of ${this.method} passed`)
      : cancelled(`the client cancelled ${this.method}`);
  }
}

const DEADLINE_CLOCK_TOLERANCE_MS = 2;

/**
 * What a handler sees of its call. A class, not an object literal with a
 * getter: a literal's getter is a fresh closure per call, which gives every
 * call's context a hidden class of its own, allocated where the garbage
 * collector has to sweep it (measured: 5x the GC time per call).
 */
class HandlerContext implements CallContext {
  readonly #call: ActiveCall;

  constructor(call: ActiveCall) {
    this.#call = call;
  }

  get signal(): AbortSignal {
    return this.#call.signal();
  }

  get metadata(): Metadata {
    return this.#call.metadata;
  }

  get method(): string {
    return this.#call.method;
  }

  get deadline(): Date | undefined {
    return this.#call.deadline;
  }
}
