// Admission of calls before their handler runs. The default lets every call
// in; the driver service uses a MutationQueue (mutation-queue.ts).
import type { ActiveCall } from "./call-context.js";

export type Release = () => void;

/**
 * Gives a release function once the call may run: synchronously when the
 * call need not wait (most calls, so they pay for no promise), else as a
 * promise that rejects if the call is aborted while it waits.
 */
export interface CallGate {
  enter(method: string, call: ActiveCall): Release | Promise<Release>;
}

export const NO_RELEASE: Release = () => {};

export const OPEN_GATE: CallGate = {
  enter: () => NO_RELEASE,
};
