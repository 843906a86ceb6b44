// Follows a booting guest until it can be used, as a stream of progress:
// lines from its console, its readiness line (on the readiness port or the
// console), then an SSH server answering. It ends early, with the console's
// last lines in the error, when the VM dies or the time is up. The sources
// are the backend's (console-source.ts, readiness.ts): the qemu driver reads
// files and sockets in the machine's dir, libvirt streams over its connection.
import { setTimeout as sleep } from "node:timers/promises";
import { type Progress, deadlineExceeded, failedPrecondition } from "../../plugin/index.js";
import type { Readiness } from "./bundle.js";
import { cleanConsoleLine, type ConsoleSource } from "./console-source.js";
import { READY_LINE, type ReadySource } from "./readiness.js";

export interface BootWatchInput {
  console: ConsoleSource;
  /** The readiness port; required when readiness is "virtio-serial". Closed when the watch ends. */
  ready?: ReadySource;
  readiness: Readiness;
  /** Where SSH is expected, for messages, e.g. "127.0.0.1:2222". */
  sshWhere: string;
  /** True once an SSH server answers there. */
  sshAnswers(): Promise<boolean>;
  timeoutMs: number;
  signal: AbortSignal;
  /** False once the VM is gone. */
  alive(): Promise<boolean>;
}

export async function* watchBoot(input: BootWatchInput): AsyncGenerator<Progress> {
  const started = Date.now();
  const deadline = started + input.timeoutMs;
  const { console, ready } = input;
  let percent = 30;
  let lastAliveCheck = 0;
  try {
    yield { step: "boot", message: "Booting (serial console)", percent };
    for (;;) {
      input.signal.throwIfAborted();
      for (const line of await console.newLines()) {
        const text = cleanConsoleLine(line);
        if (text === "" || text.includes(READY_LINE)) continue;
        percent = Math.min(percent + 2, 70);
        yield { step: "boot", message: `Booting: ${text}`, percent };
      }
      if (input.readiness === "ssh" || ready?.seen || console.sawReady) break;
      await checkAliveAndTime();
      await sleep(200, undefined, { signal: input.signal });
    }
    if (input.readiness === "virtio-serial")
      yield { step: "ready", message: `Guest ready after ${seconds(Date.now() - started)}`, percent: 80 };
    yield { step: "ssh", message: `Waiting for SSH on ${input.sshWhere}`, percent: 85 };
    for (;;) {
      input.signal.throwIfAborted();
      if (await input.sshAnswers()) break;
      await checkAliveAndTime();
      await sleep(250, undefined, { signal: input.signal });
    }
    yield { step: "ssh", message: `SSH answers on ${input.sshWhere}`, percent: 95 };
  } finally {
    ready?.close();
  }

  async function checkAliveAndTime(): Promise<void> {
    if (Date.now() > deadline)
      throw deadlineExceeded(
        `the guest was not ready within ${seconds(input.timeoutMs)} (raise the boot timeout on slow hosts); its console ends: ${await console.tail()}`,
      );
    if (Date.now() - lastAliveCheck < 1_000) return;
    lastAliveCheck = Date.now();
    if (!(await input.alive()))
      throw failedPrecondition(`the VM exited while the guest was booting; its console ends: ${await console.tail()}`);
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
