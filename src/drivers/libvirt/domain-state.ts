// libvirt's domain states (virDomainState) as driverplug states. The domain
// is the truth: nothing here is remembered between calls.
import { State } from "../../plugin/index.js";

export enum VirDomainState {
  NOSTATE = 0,
  RUNNING = 1,
  BLOCKED = 2,
  PAUSED = 3,
  SHUTDOWN = 4,
  SHUTOFF = 5,
  CRASHED = 6,
  PMSUSPENDED = 7,
}

export function stateOf(state: number): State {
  switch (state) {
    case VirDomainState.RUNNING:
    case VirDomainState.BLOCKED:
      return State.STATE_RUNNING;
    case VirDomainState.PAUSED:
    case VirDomainState.PMSUSPENDED:
      return State.STATE_PAUSED;
    case VirDomainState.SHUTDOWN:
      return State.STATE_STOPPING;
    case VirDomainState.SHUTOFF:
      return State.STATE_STOPPED;
    case VirDomainState.CRASHED:
      return State.STATE_ERROR;
    default:
      return State.STATE_NONE_UNSPECIFIED;
  }
}
