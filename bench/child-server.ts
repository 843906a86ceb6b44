// Starts a benchmark server in its own process (servers never share the
// client's event loop) and waits for the one line it prints when it listens.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** Set for a server in a session of its own: exit when stdin ends (the bench is gone). */
export const BENCH_STDIN_LIFELINE = "BENCH_STDIN_LIFELINE";

export interface ChildServer {
  /** The first stdout line: the address the server listens on. */
  address: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Path of a compiled bench script next to this file, e.g. "servers/bare-grpc-server.js". */
export function benchScript(relative: string): string {
  return fileURLToPath(new URL(relative, import.meta.url));
}

export async function startChildServer(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 10_000,
  /**
   * Spawned detached (setsid), as launch() spawns a plugin: a session, so a
   * scheduler autogroup, of its own. A terminal's Ctrl-C no longer reaches
   * it, so it gets a stdin pipe whose end tells it the bench is gone
   * (BENCH_STDIN_LIFELINE; the server must honour it).
   */
  ownSession = false,
): Promise<ChildServer> {
  const child = spawn(process.execPath, [script, ...args], {
    stdio: [ownSession ? "pipe" : "ignore", "pipe", "inherit"],
    env: { ...process.env, ...env, ...(ownSession ? { [BENCH_STDIN_LIFELINE]: "1" } : {}) },
    detached: ownSession,
  });
  const lines = createInterface({ input: child.stdout! });
  const failed = new Promise<never>((_, reject) => {
    child.once("exit", (code, signal) =>
      reject(new Error(`bench server ${script} exited (${signal ?? code}) before printing its address`)),
    );
    child.once("error", reject);
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    const [line] = (await Promise.race([once(lines, "line"), failed])) as [string];
    lines.close();
    child.stdout!.resume();
    return { address: line, child, stop: () => stopChild(child) };
  } finally {
    clearTimeout(timer);
  }
}

/** SIGTERM, then SIGKILL after a grace period; resolves once the child is reaped. */
export async function stopChild(child: ChildProcess, graceMs = 2_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
