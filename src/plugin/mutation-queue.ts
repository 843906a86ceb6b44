// Serializes a service's mutating calls so a driver need not be re-entrant,
// while pre-empting calls (Kill) never wait: they abort the mutating call in
// flight and run at once. Queries pass straight through, and so does a
// mutating call when no other one holds or awaits its turn. Which calls are
// which comes from the RPC options in the .proto (protocol/rpc-options.ts).
import { findDriverRpc } from "../protocol/rpc-options.js";
import { cancelled } from "./driver-error.js";
import type { ActiveCall } from "./call-context.js";
import { NO_RELEASE, type CallGate, type Release } from "./call-gate.js";

/** The part of an RPC's options the queue reads. */
export interface RpcRules {
  readonly mutating: boolean;
  readonly preempts: boolean;
}

export class MutationQueue implements CallGate {
  /** Settles once every mutating call admitted so far has released its turn. */
  private tail: Promise<void> = Promise.resolve();
  /** Mutating calls running or waiting; 0 means the tail has settled (or is about to). */
  private holders = 0;
  private inFlight: ActiveCall | undefined;

  /** `classify`: a method's rules by its handler name; undefined passes the call straight through. */
  constructor(private readonly classify: (method: string) => RpcRules | undefined = findDriverRpc) {}

  enter(method: string, call: ActiveCall): Release | Promise<Release> {
    const rules = this.classify(method);
    if (rules?.preempts) {
      this.inFlight?.abort(cancelled(`${this.inFlight.method} was aborted by ${method}`));
      return NO_RELEASE;
    }
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
    if (free) return this.admit(call, passTurn);
    return call.race(previous).then(
      () => this.admit(call, passTurn),
      (err: unknown) => {
        passTurn();
        throw err;
      },
    );
  }

  private admit(call: ActiveCall, passTurn: () => void): Release {
    this.inFlight = call;
    return () => {
      if (this.inFlight === call) this.inFlight = undefined;
      passTurn();
    };
  }
}
