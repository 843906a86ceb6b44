// Shows a long operation's progress events as they arrive. On a terminal the
// current step is redrawn in place; elsewhere (pipes, logs, tests) each event
// is one line, so nothing is lost.
import type { Progress } from "../../generated/driverplug/driver/v1/driver.js";
import { printable } from "../host/printable-text.js";

export interface ProgressView {
  show(progress: Progress): void;
  /** Ends an in-place line so later output starts on a fresh one. */
  done(): void;
}

export function formatProgress(p: Progress): string {
  const step = p.step === "" ? "" : `${printable(p.step)}: `;
  return `[${String(p.percent).padStart(3)}%] ${step}${printable(p.message)}`;
}

export function progressView(out: NodeJS.WritableStream & { isTTY?: boolean }, indent = "  "): ProgressView {
  let open = false;
  if (out.isTTY === true) {
    return {
      show(p) {
        out.write(`\r\x1b[2K${indent}${formatProgress(p)}`);
        open = true;
      },
      done() {
        if (open) out.write("\n");
        open = false;
      },
    };
  }
  return {
    show: (p) => void out.write(`${indent}${formatProgress(p)}\n`),
    done: () => undefined,
  };
}
