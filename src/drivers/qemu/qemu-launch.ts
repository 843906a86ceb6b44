// Launches QEMU so the VM outlives the plugin: in a session of its own
// (setsid), stdio on its log file, not waited on. Why not -daemonize: QEMU's
// daemon sets umask 027 itself, so its sockets come out 0750; launched
// detached under umask 0177 every socket, the pidfile and the serial log are
// born 0600, with no window. Launch ends when QEMU's monitor greets (its set-up
// is done and the VM runs) or QEMU exits (its log says why; a taken SSH port is
// told apart so the caller can pick another).
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { QmpClient } from "./qmp-client.js";

export class LaunchError extends Error {
  override name = "LaunchError";
  constructor(
    message: string,
    readonly portTaken: boolean,
  ) {
    super(message);
  }
}

export interface LaunchInput {
  binary: string;
  argv: readonly string[];
  logPath: string;
  qmpPath: string;
  signal: AbortSignal;
  /** Told the pid as soon as QEMU is spawned, before its set-up ends. */
  onSpawn?(pid: number): void;
  /** How long QEMU may take to set up before it counts as failed. */
  timeoutMs?: number;
}

/** The plugin's own variables never reach QEMU (no cookie, no socket dirs). */
function qemuEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(PLUGIN_|DRIVERPLUG_|MACHINE_PLUGIN_)/.test(key)) continue;
    env[key] = value;
  }
  return env;
}

/** Starts QEMU and resolves with its pid once its monitor answers. */
export async function launchQemu(input: LaunchInput): Promise<number> {
  const log = await fs.open(input.logPath, "w", 0o600);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let pid: number | undefined;
  try {
    const child = spawn("/bin/sh", ["-c", 'umask 177 && exec "$0" "$@"', input.binary, ...input.argv], {
      detached: true,
      stdio: ["ignore", log.fd, log.fd],
      env: qemuEnv(),
    });
    child.once("exit", (code, signal) => (exited = { code, signal }));
    // An error event (e.g. /bin/sh missing) would otherwise be thrown; the log then says nothing.
    child.once("error", () => (exited ??= { code: -1, signal: null }));
    child.unref();
    pid = child.pid;
    if (pid !== undefined) input.onSpawn?.(pid);
  } finally {
    await log.close();
  }
  const deadline = Date.now() + (input.timeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw await failure(input, exited);
    if (input.signal.aborted) {
      if (pid !== undefined) killQuietly(pid);
      throw input.signal.reason;
    }
    if (Date.now() > deadline) {
      if (pid !== undefined) killQuietly(pid);
      throw new LaunchError(
        `QEMU did not set up within ${Math.round((input.timeoutMs ?? 60_000) / 1000)} s; ${await logTail(input.logPath)}`,
        false,
      );
    }
    const monitor = await QmpClient.connect(input.qmpPath, { timeoutMs: 2_000 }).catch(() => undefined);
    if (monitor) {
      monitor.close();
      if (exited) throw await failure(input, exited);
      return pid!;
    }
    await sleep(50);
  }
}

async function failure(
  input: LaunchInput,
  exited: { code: number | null; signal: NodeJS.Signals | null },
): Promise<LaunchError> {
  const text = await fs.readFile(input.logPath, "utf8").catch(() => "");
  const portTaken = /Could not set up host forwarding rule/i.test(text);
  const how = exited.signal ? `was killed by ${exited.signal}` : `exited with code ${exited.code}`;
  return new LaunchError(`QEMU ${how} while setting up: ${tail(text) || "(it printed nothing)"}`, portTaken);
}

async function logTail(path: string): Promise<string> {
  const text = await fs.readFile(path, "utf8").catch(() => "");
  return text.trim() === "" ? "it printed nothing" : `its log ends: ${tail(text)}`;
}

/** The last lines of QEMU's output, bounded: it goes into an error message. */
export function tail(text: string, lines = 5): string {
  return text.trim().split("\n").slice(-lines).join(" | ").slice(-800);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}
