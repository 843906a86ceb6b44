// Serializes a service's mutating calls so a driver need not be re-entrant,
// while pre-empting calls (Kill) never queue: Kill aborts the mutating call in
// flight, waits (bounded) for its handler to settle, so the aborted call's
// cleanup and Kill never run at the same time, then runs, ahead of every call
// still waiting. Queries pass straight through, and so does a mutating call
// when no other one holds or awaits its turn. Which calls are which comes
// from the RPC options in the .proto (protocol/rpc-options.ts).
import { findDriverRpc } from "../protocol/rpc-options.js";
import { formatSeconds } from "../protocol/duration-text.js";
import { cancelled } from "./driver-error.js";
import type { ActiveCall } from "./call-context.js";
import { NO_RELEASE, type CallGate, type Release } from "./call-gate.js";
import type { Logger } from "./logger.js";

/** The part of an RPC's options the queue reads. */
export interface RpcRules {
  readonly mutating: boolean;
  readonly preempts: boolean;
}

/**
 * How long Kill waits for the handler it aborted to settle before it runs
 * anyway: long enough for a driver's cleanup (stop a process, remove a few
 * files), short against Kill's own deadline (the lifecycle one, 600 s).
 */
export const DEFAULT_KILL_WAIT_MS = 10_000;

export interface MutationQueueOptions {
  /** A method's rules by its handler name; undefined passes the call straight through. Default: the .proto's. */
  classify?: (method: string) => RpcRules | undefined;
  /** Kill's bounded wait for the handler it aborted (default DEFAULT_KILL_WAIT_MS). */
  killWaitMs?: number;
  /** Told when an aborted handler outlives that wait. */
  log?: Logger;
}

interface Running {
  call: ActiveCall;
  /** Resolves when the call's handler has settled (its turn is released). */
  settled: Promise<void>;
}

export class MutationQueue implements CallGate {
  /** Settles once every mutating call admitted so far has released its turn. */
  private tail: Promise<void> = Promise.resolve();
  /** Mutating calls running or waiting; 0 means the tail has settled (or is about to). */
  private holders = 0;
  private inFlight: Running | undefined;
  /** While pre-empting calls run, mutating calls whose turn came wait on this. */
  private preempting: { count: number; over: Promise<void>; end: () => void } | undefined;
  private readonly classify: (method: string) => RpcRules | undefined;
  private readonly killWaitMs: number;

  constructor(private readonly options: MutationQueueOptions = {}) {
    this.classify = options.classify ?? findDriverRpc;
    this.killWaitMs = options.killWaitMs ?? DEFAULT_KILL_WAIT_MS;
  }

  enter(method: string, call: ActiveCall): Release | Promise<Release> {
    const rules = this.classify(method);
    if (rules?.preempts) return this.preempt(method, call);
    if (!rules?.mutating) return NO_RELEASE;
    const previous = this.tail;
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const free = this.holders === 0;
    // A waiter that gives up still passes its turn on only after the calls
    // before it finished, so the order holds.
    this.tail = free ? mine : previous.then(() => mine);
    this.holders++;
    const passTurn = () => {
      this.holders--;
      done();
    };
    if (free && !this.preempting) return this.admit(call, mine, passTurn);
    return call.race(previous.then(() => this.afterPreempting())).then(
      () => this.admit(call, mine, passTurn),
      (err: unknown) => {
        passTurn();
        throw err;
      },
    );
  }

  /** Resolves once no pre-empting call runs (at once if none does). */
  private async afterPreempting(): Promise<void> {
    while (this.preempting) await this.preempting.over;
  }

  /** Holds back queued mutating calls until the returned release. */
  private holdQueue(): Release {
    if (!this.preempting) {
      let end!: () => void;
      const over = new Promise<void>((resolve) => (end = resolve));
      this.preempting = { count: 0, over, end };
    }
    const held = this.preempting;
    held.count++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--held.count > 0) return;
      if (this.preempting === held) this.preempting = undefined;
      held.end();
    };
  }

  /**
   * Aborts the call in flight, waits for its handler to settle (at most
   * killWaitMs), then runs while the calls still queued wait for it.
   */
  private preempt(method: string, call: ActiveCall): Release | Promise<Release> {
    const running = this.inFlight;
    if (!running) return this.holdQueue();
    running.call.abort(cancelled(`${running.call.method} was aborted by ${method}`));
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.options.log?.warn(
          `${running.call.method}, aborted by ${method}, did not end within ${formatSeconds(this.killWaitMs)}; ${method} runs while it is still running`,
          { method: running.call.method, waitedMs: this.killWaitMs },
        );
        resolve();
      }, this.killWaitMs);
    });
    // Held from now on: the aborted call's release must not let the next queued call in ahead of Kill.
    const release = this.holdQueue();
    return call.race(Promise.race([running.settled, bound])).then(
      () => {
        clearTimeout(timer);
        return release;
      },
      (err: unknown) => {
        clearTimeout(timer);
        release();
        throw err;
      },
    );
  }

  private admit(call: ActiveCall, settled: Promise<void>, passTurn: () => void): Release {
    this.inFlight = { call, settled };
    return () => {
      if (this.inFlight?.call === call) this.inFlight = undefined;
      passTurn();
    };
  }
}
