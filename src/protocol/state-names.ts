// Machine states as people read them: libmachine's names (Running, Stopped...)
// for the contract's State numbers. The CLI prints them; hosts may too.
import { State } from "../../generated/driverplug/driver/v1/driver.js";

/** The friendly name of each State. */
export const STATE_NAMES: Readonly<Record<Exclude<State, State.UNRECOGNIZED>, string>> = Object.freeze({
  [State.STATE_NONE_UNSPECIFIED]: "None",
  [State.STATE_RUNNING]: "Running",
  [State.STATE_PAUSED]: "Paused",
  [State.STATE_SAVED]: "Saved",
  [State.STATE_STOPPED]: "Stopped",
  [State.STATE_STOPPING]: "Stopping",
  [State.STATE_STARTING]: "Starting",
  [State.STATE_ERROR]: "Error",
  [State.STATE_TIMEOUT]: "Timeout",
});

/** "Running" for State.STATE_RUNNING; "Unknown(42)" for a number this release does not know. */
export function stateName(state: State): string {
  return (STATE_NAMES as Readonly<Record<number, string>>)[state] ?? `Unknown(${state})`;
}
