// Ctrl-C handling: the first SIGINT aborts the command's signal so the
// command stops its calls, closes its plugin, releases its lock and exits 130;
// a second SIGINT gives up waiting and exits 130 at once (the plugin still
// stops by itself when it sees its host gone).
import { EXIT_INTERRUPTED } from "./cli-error.js";

export class Interrupted extends Error {
  override name = "Interrupted";
  constructor() {
    super("interrupted by Ctrl-C (SIGINT)");
  }
}

export interface Interrupt {
  signal: AbortSignal;
  dispose(): void;
}

export function installInterrupt(stderr: NodeJS.WritableStream): Interrupt {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) {
      stderr.write("driverplug: interrupted again, exiting without waiting for cleanup\n");
      process.exit(EXIT_INTERRUPTED);
    }
    stderr.write("driverplug: interrupted, stopping cleanly (Ctrl-C again to exit at once)\n");
    controller.abort(new Interrupted());
  };
  process.on("SIGINT", onSigint);
  return { signal: controller.signal, dispose: () => void process.off("SIGINT", onSigint) };
}
