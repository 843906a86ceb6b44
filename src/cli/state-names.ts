// Machine states as people read them: libmachine's names (Running, Stopped...)
// for the contract's State numbers.
import { State } from "../../generated/driverplug/driver/v1/driver.js";

const NAMES: Readonly<Record<number, string>> = {
  [State.STATE_NONE_UNSPECIFIED]: "None",
  [State.STATE_RUNNING]: "Running",
  [State.STATE_PAUSED]: "Paused",
  [State.STATE_SAVED]: "Saved",
  [State.STATE_STOPPED]: "Stopped",
  [State.STATE_STOPPING]: "Stopping",
  [State.STATE_STARTING]: "Starting",
  [State.STATE_ERROR]: "Error",
  [State.STATE_TIMEOUT]: "Timeout",
};

export function stateName(state: State): string {
  return NAMES[state] ?? `Unknown(${state})`;
}
