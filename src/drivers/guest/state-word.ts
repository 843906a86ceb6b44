// A machine state as the words of a refusal ("machine vm1 is running; stop
// it first"), the same for every VM driver.
import { State } from "../../plugin/index.js";

export function stateWord(state: State): string {
  switch (state) {
    case State.STATE_RUNNING:
      return "running";
    case State.STATE_PAUSED:
      return "paused";
    case State.STATE_STARTING:
      return "starting";
    case State.STATE_STOPPING:
      return "stopping";
    case State.STATE_STOPPED:
      return "stopped";
    case State.STATE_SAVED:
      return "saved";
    case State.STATE_ERROR:
      return "in an error state";
    default:
      return "in an unknown state";
  }
}
