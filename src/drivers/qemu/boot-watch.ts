// Follows a booting guest until it can be used, as a stream of progress:
// lines from its serial console (the log QEMU writes), its readiness line
// ("driverplug-ready" on the dp.ready virtio-serial port, or the console),
// then an SSH server answering with its banner. It ends early, with the
// console's last lines in the error, when QEMU dies or the time is up.
import { promises as fs } from "node:fs";
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { type Progress, deadlineExceeded, failedPrecondition } from "../../plugin/index.js";
import type { Readiness } from "./bundle.js";

export const READY_LINE = "driverplug-ready";

export interface BootWatchInput {
  serialLogPath: string;
  readySocketPath: string;
  readiness: Readiness;
  sshPort: number;
  timeoutMs: number;
  signal: AbortSignal;
  /** False once the VM's QEMU is gone. */
  alive(): Promise<boolean>;
}

/** Guest text is untrusted: printable ASCII only, bounded. */
export function cleanConsoleLine(line: string): string {
  return line
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")
    .replace(/[^\x20-\x7e]/g, "")
    .trim()
    .slice(0, 120);
}

export async function* watchBoot(input: BootWatchInput): AsyncGenerator<Progress> {
  const started = Date.now();
  const deadline = started + input.timeoutMs;
  const console = new ConsoleFollower(input.serialLogPath);
  const ready = input.readiness === "virtio-serial" ? new ReadyPort(input.readySocketPath) : undefined;
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
    yield { step: "ssh", message: `Waiting for SSH on 127.0.0.1:${input.sshPort}`, percent: 85 };
    for (;;) {
      input.signal.throwIfAborted();
      if (await sshAnswers(input.sshPort)) break;
      await checkAliveAndTime();
      await sleep(250, undefined, { signal: input.signal });
    }
    yield { step: "ssh", message: `SSH answers on 127.0.0.1:${input.sshPort}`, percent: 95 };
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
      throw failedPrecondition(`QEMU exited while the guest was booting; its console ends: ${await console.tail()}`);
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Reads what the serial log gained since the last look. */
class ConsoleFollower {
  private offset = 0;
  private partial = "";
  sawReady = false;

  constructor(private readonly path: string) {}

  async newLines(): Promise<string[]> {
    let handle;
    try {
      handle = await fs.open(this.path, "r");
    } catch {
      return [];
    }
    try {
      const { size } = await handle.stat();
      if (size <= this.offset) return [];
      const length = Math.min(size - this.offset, 1 << 20);
      const buf = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buf, 0, length, this.offset);
      this.offset += bytesRead;
      const text = this.partial + buf.subarray(0, bytesRead).toString("latin1");
      const lines = text.split(/\r?\n/);
      this.partial = (lines.pop() ?? "").slice(-4096);
      if (text.includes(READY_LINE)) this.sawReady = true;
      return lines;
    } finally {
      await handle.close();
    }
  }

  async tail(): Promise<string> {
    const text = await fs.readFile(this.path, "latin1").catch(() => "");
    const lines = text
      .split(/\r?\n/)
      .map(cleanConsoleLine)
      .filter((l) => l !== "")
      .slice(-5);
    return lines.length === 0 ? "(nothing)" : lines.join(" | ");
  }
}

/** A client of the readiness port, reconnecting until the line arrives. */
class ReadyPort {
  seen = false;
  private socket: Socket | undefined;
  private received = "";
  private closed = false;

  constructor(private readonly path: string) {
    this.open();
  }

  private open(): void {
    if (this.closed || this.seen) return;
    const socket = connect(this.path);
    this.socket = socket;
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      this.received = (this.received + chunk).slice(-256);
      if (this.received.includes(READY_LINE)) this.seen = true;
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      if (!this.closed && !this.seen) setTimeout(() => this.open(), 200).unref();
    });
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
  }
}

/** An SSH server answers with "SSH-" first; user-mode networking accepts connections even with nobody behind. */
export function sshAnswers(port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let got = "";
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      got += chunk;
      if (got.length >= 4) done(got.startsWith("SSH-"));
    });
    socket.on("error", () => done(false));
    socket.on("close", () => done(false));
  });
}
