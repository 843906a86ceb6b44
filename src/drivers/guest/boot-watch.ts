// Follows a booting guest until it can be used, as a stream of progress: the
// boot phase its console shows (firmware, kernel, systemd, cloud-init), its
// readiness line (on the readiness port or the console), then an SSH server
// answering. Console progress is rate-limited: every phase change is told,
// other lines at most one per CONSOLE_PROGRESS_MS (the newest), so a chatty
// guest (130 000 lines in a 20 s boot) costs a handful of messages. It ends
// early, with the console's last lines in the error, when the VM dies or the
// time is up. The sources are the backend's (console-source.ts, readiness.ts):
// the qemu driver drains QEMU's ring buffer and serves sockets in the
// machine's dir, libvirt streams over its connection.
import { setTimeout as sleep } from "node:timers/promises";
import { type Progress, deadlineExceeded, failedPrecondition } from "../../plugin/index.js";
import type { Readiness } from "./bundle.js";
import { later, PHASE_PERCENT, PHASE_TITLE, phaseOf, type BootPhase } from "./boot-phases.js";
import { cleanConsoleLine, type ConsoleSource } from "./console-source.js";
import { READY_LINE, type ReadySource } from "./readiness.js";

/** At most one console line becomes progress per this many ms (phase changes always do). */
export const CONSOLE_PROGRESS_MS = 2_000;

export interface BootWatchInput {
  console: ConsoleSource;
  /** The readiness port; required when readiness is "virtio-serial". Closed when the watch ends. */
  ready?: ReadySource;
  readiness: Readiness;
  /** Where the boot starts: "firmware" (a disk image) or "kernel" (direct kernel boot). */
  firstPhase: BootPhase;
  /** Where SSH is expected, for messages, e.g. "127.0.0.1:2222". */
  sshWhere: string;
  /** True once an SSH server answers there. */
  sshAnswers(): Promise<boolean>;
  timeoutMs: number;
  signal: AbortSignal;
  /** False once the VM is gone. */
  alive(): Promise<boolean>;
  /** The clock (tests pass their own). */
  now?(): number;
}

export async function* watchBoot(input: BootWatchInput): AsyncGenerator<Progress> {
  const now = input.now ?? Date.now;
  const started = now();
  const deadline = started + input.timeoutMs;
  const { console, ready } = input;
  let phase = input.firstPhase;
  let lastLineShown = 0;
  let pending: string | undefined;
  let lastAliveCheck = 0;
  const at = () => seconds(now() - started);
  const percent = (p: BootPhase) => PHASE_PERCENT[p];
  try {
    yield { step: phase, message: `${PHASE_TITLE[phase]} (console follows)`, percent: percent(phase) };
    for (;;) {
      input.signal.throwIfAborted();
      for (const line of await console.newLines()) {
        const text = cleanConsoleLine(line);
        if (text === "" || text.includes(READY_LINE)) continue;
        const seen = phaseOf(text);
        if (seen !== undefined && later(phase, seen) !== phase) {
          phase = seen;
          pending = undefined;
          lastLineShown = now();
          yield { step: phase, message: `${PHASE_TITLE[phase]} at ${at()}: ${text}`, percent: percent(phase) };
        } else {
          pending = text;
        }
      }
      if (pending !== undefined && now() - lastLineShown >= CONSOLE_PROGRESS_MS) {
        lastLineShown = now();
        yield { step: phase, message: `${PHASE_TITLE[phase]} (${at()}): ${pending}`, percent: percent(phase) };
        pending = undefined;
      }
      if (input.readiness === "ssh" || ready?.seen || console.sawReady) break;
      await checkAliveAndTime();
      await sleep(200, undefined, { signal: input.signal });
    }
    if (input.readiness === "virtio-serial") yield { step: "ready", message: `Guest ready after ${at()}`, percent: 80 };
    yield { step: "ssh", message: `Waiting for SSH on ${input.sshWhere}`, percent: 85 };
    for (;;) {
      input.signal.throwIfAborted();
      if (await input.sshAnswers()) break;
      await checkAliveAndTime();
      await sleep(250, undefined, { signal: input.signal });
    }
    yield { step: "ssh", message: `SSH answers on ${input.sshWhere} (${at()})`, percent: 95 };
  } finally {
    ready?.close();
    console.close?.();
  }

  async function checkAliveAndTime(): Promise<void> {
    if (now() > deadline)
      throw deadlineExceeded(
        `the guest was not ready within ${seconds(input.timeoutMs)} (it was in its ${phase} phase; raise the boot timeout on slow hosts); its console ends: ${await console.tail()}`,
      );
    if (now() - lastAliveCheck < 1_000) return;
    lastAliveCheck = now();
    if (!(await input.alive()))
      throw failedPrecondition(`the VM exited while the guest was booting; its console ends: ${await console.tail()}`);
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
