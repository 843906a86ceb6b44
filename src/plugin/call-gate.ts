// Admission of calls before their handler runs. The default lets every call
// in; the driver service uses a MutationQueue (mutation-queue.ts).
import type { ActiveCall } from "./call-context.js";

/** Resolves with a release function once the call may run; rejects if its signal aborts first. */
export interface CallGate {
  enter(method: string, call: ActiveCall): Promise<() => void>;
}

export const OPEN_GATE: CallGate = {
  enter: async () => () => {},
};

/** Waits for a promise unless the signal aborts first (then rejects with its reason). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
