// "Still waiting for the driver": a line on a terminal while a command has
// heard nothing from its driver for a while (10 s, 30 s, 60 s, then every
// minute), so a driver that never answers is not mistaken for a hung CLI.
// Progress events count as hearing from it. Only on a terminal and never
// under --json: pipes and logs get the command's own output and nothing else.
import { seconds } from "./command-timeout.js";

/** Seconds of silence at which a notice is written; after the last, one every REPEAT_EVERY_S. */
export const NOTICE_AT_S: readonly number[] = [10, 30, 60];
const REPEAT_EVERY_S = 60;

export interface WaitNotice {
  /** The driver answered (a reply, a progress event): silence counts from now. */
  heard(): void;
  /** Write the notices through `interject` (a progress view keeps its in-place line below them). */
  writeThrough(interject: (line: string) => void): void;
  /** The wait is over: no more notices. */
  stop(): void;
}

export const noWaitNotice: WaitNotice = {
  heard: () => undefined,
  writeThrough: () => undefined,
  stop: () => undefined,
};

export interface WaitNoticeOptions {
  /** How long the command gives the driver, for the line; undefined when unbounded. */
  limitMs?: number;
}

export function waitNotice(out: NodeJS.WritableStream, options: WaitNoticeOptions = {}): WaitNotice {
  let write: (line: string) => void = (line) => void out.write(`${line}\n`);
  let timer: NodeJS.Timeout | undefined;
  let silentSince = Date.now();
  let next = 0;
  let stopped = false;
  const dueAt = (i: number) =>
    (i < NOTICE_AT_S.length ? NOTICE_AT_S[i]! : NOTICE_AT_S.at(-1)! + (i - NOTICE_AT_S.length + 1) * REPEAT_EVERY_S) *
    1000;
  const arm = () => {
    if (stopped) return;
    timer = setTimeout(
      () => {
        // heard() only moves silentSince (a flood of progress must not re-arm a timer per event): check here.
        if (Date.now() >= silentSince + dueAt(next)) {
          const limit = options.limitMs === undefined ? "" : `, gives up at ${seconds(options.limitMs)}`;
          write(`driverplug: still waiting for the driver (${seconds(dueAt(next))} so far${limit})`);
          next++;
        }
        arm();
      },
      Math.max(0, silentSince + dueAt(next) - Date.now()),
    );
    // The command's own work keeps the process alive, not this line.
    timer.unref();
  };
  arm();
  return {
    heard() {
      silentSince = Date.now();
      next = 0;
    },
    writeThrough(interject) {
      write = interject;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
