// The fake machine's observable state: the resting state from its record,
// overlaid by a transient one (starting, stopping) while an operation runs.
// WatchState readers are told about every change.
import { EventEmitter, once } from "node:events";
import { State } from "../../plugin/index.js";
import type { RestingState } from "./machine-store.js";

const RESTING: Record<RestingState, State> = {
  stopped: State.STATE_STOPPED,
  running: State.STATE_RUNNING,
};

export class StateBoard {
  private resting: State = State.STATE_NONE_UNSPECIFIED;
  private transient: State | undefined;
  private published: State = State.STATE_NONE_UNSPECIFIED;
  private readonly changes = new EventEmitter();

  constructor() {
    // Each WatchState stream holds one listener; many hosts may watch.
    this.changes.setMaxListeners(0);
  }

  get current(): State {
    return this.transient ?? this.resting;
  }

  /** The record's state (undefined: no machine). */
  rest(state: RestingState | undefined): void {
    this.resting = state === undefined ? State.STATE_NONE_UNSPECIFIED : RESTING[state];
    this.transient = undefined;
    this.publish();
  }

  pass(state: State.STATE_STARTING | State.STATE_STOPPING): void {
    this.transient = state;
    this.publish();
  }

  /** The states from now on: the current one first, then each change, until the signal aborts. */
  async *watch(signal: AbortSignal): AsyncGenerator<State> {
    const seen: State[] = [];
    const record = () => seen.push(this.current);
    this.changes.on("change", record);
    try {
      yield this.current;
      while (!signal.aborted) {
        const next = seen.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        await once(this.changes, "change", { signal }).catch(() => undefined);
      }
    } finally {
      this.changes.off("change", record);
    }
  }

  private publish(): void {
    if (this.current === this.published) return;
    this.published = this.current;
    this.changes.emit("change");
  }
}
