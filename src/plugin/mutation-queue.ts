// Serializes a service's mutating calls so a driver need not be re-entrant,
// while pre-empting calls (Kill) never wait: they abort the mutating call in
// flight and run at once. Queries pass straight through.
import { cancelled } from "./driver-error.js";
import type { ActiveCall } from "./call-context.js";
import { untilAborted, type CallGate } from "./call-gate.js";

export class MutationQueue implements CallGate {
  private tail: Promise<void> = Promise.resolve();
  private inFlight: { method: string; controller: AbortController } | undefined;

  constructor(
    private readonly mutating: ReadonlySet<string>,
    private readonly preempting: ReadonlySet<string>,
  ) {}

  async enter(method: string, call: ActiveCall): Promise<() => void> {
    if (this.preempting.has(method)) {
      this.inFlight?.controller.abort(cancelled(`${this.inFlight.method} was aborted by ${method}`));
      return () => {};
    }
    if (!this.mutating.has(method)) return () => {};
    const previous = this.tail;
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    // A waiter that gives up still passes its turn on only after the calls
    // before it finished, so the order holds.
    this.tail = previous.then(() => mine);
    try {
      await untilAborted(previous, call.ctx.signal);
    } catch (err) {
      release();
      throw err;
    }
    const entry = { method, controller: call.controller };
    this.inFlight = entry;
    return () => {
      if (this.inFlight === entry) this.inFlight = undefined;
      release();
    };
  }
}
