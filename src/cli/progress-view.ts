// Shows a long operation's progress events as they arrive. On a terminal the
// current step is redrawn in place; elsewhere (pipes, logs, tests) each event
// is one line. Writes respect backpressure: while the output does not keep up
// (a stalled stderr pipe), intermediate events are dropped, not buffered, and
// only the newest waits for 'drain', so a slow reader never grows the CLI.
import type { Progress } from "../../generated/driverplug/driver/v1/driver.js";
import { printable } from "../host/printable-text.js";

export interface ProgressView {
  show(progress: Progress): void;
  /** Ends an in-place line so later output starts on a fresh one; writes the newest event still held back. */
  done(): void;
  /** Writes a line of its own (a notice) above the in-place step, which is then drawn again. */
  interject(line: string): void;
  /** Events dropped because the output was not ready for them. */
  readonly dropped: number;
}

export function formatProgress(p: Progress): string {
  const step = p.step === "" ? "" : `${printable(p.step)}: `;
  return `[${String(p.percent).padStart(3)}%] ${step}${printable(p.message)}`;
}

type Output = NodeJS.WritableStream & { isTTY?: boolean };

export function progressView(out: Output, indent = "  "): ProgressView {
  const tty = out.isTTY === true;
  const render = (p: Progress) => (tty ? `\r\x1b[2K${indent}${formatProgress(p)}` : `${indent}${formatProgress(p)}\n`);
  let open = false;
  let blocked = false;
  let held: Progress | undefined;
  let dropped = 0;
  let finished = false;
  let last: Progress | undefined;
  const write = (p: Progress) => {
    last = p;
    open = tty;
    if (out.write(render(p))) return;
    blocked = true;
    out.once("drain", () => {
      blocked = false;
      const next = held;
      held = undefined;
      if (next && !finished) write(next);
    });
  };
  return {
    show(p) {
      if (finished) return;
      if (!blocked) return write(p);
      if (held) dropped++;
      held = p;
    },
    done() {
      // The last event says where the operation ended: it is written even into a full buffer.
      if (held && !finished) out.write(render(held));
      held = undefined;
      finished = true;
      if (open) out.write("\n");
      open = false;
    },
    interject(line) {
      if (!open) return void out.write(`${line}\n`);
      out.write(`\r\x1b[2K${line}\n`);
      if (last && !finished) out.write(render(last));
    },
    get dropped() {
      return dropped;
    },
  };
}

/** Shows nothing: for --json, where stderr is kept for the error object. */
export const silentProgress: ProgressView = {
  show: () => undefined,
  done: () => undefined,
  interject: () => undefined,
  dropped: 0,
};
