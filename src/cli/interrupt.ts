// Ctrl-C handling: the first SIGINT aborts the command's signal so the
// command stops its calls, closes its plugin, releases its lock and exits 130;
// a second SIGINT gives up waiting and exits 130 at once (the plugin still
// stops by itself when it sees its host gone). What is said on each is the
// caller's choice: a line of text, or under --json nothing until the one
// JSON object.
import { EXIT_INTERRUPTED, exitCodeName } from "./cli-error.js";
import type { Failure } from "./error-message.js";

export class Interrupted extends Error {
  override name = "Interrupted";
  constructor() {
    super("interrupted by Ctrl-C (SIGINT)");
  }
}

export const INTERRUPTED_NOTICE = "driverplug: interrupted, stopping cleanly (Ctrl-C again to exit at once)\n";

/** The failure a second Ctrl-C ends the command with. */
export function interruptedAgain(): Failure {
  return {
    message: "interrupted again: exited without waiting for cleanup (the plugin stops by itself)",
    exitCode: EXIT_INTERRUPTED,
    code: exitCodeName(EXIT_INTERRUPTED),
  };
}

export interface Interrupt {
  signal: AbortSignal;
  dispose(): void;
}

export interface InterruptNotices {
  /** The first Ctrl-C: the command is stopping cleanly. */
  first(): void;
  /** The second: the process exits right after this. */
  again(): void;
}

export function installInterrupt(notices: InterruptNotices): Interrupt {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) {
      notices.again();
      process.exit(EXIT_INTERRUPTED);
    }
    notices.first();
    controller.abort(new Interrupted());
  };
  process.on("SIGINT", onSigint);
  return { signal: controller.signal, dispose: () => void process.off("SIGINT", onSigint) };
}
