// Waits for a launched plugin's handshake line, or for the first sign that
// none will come (exit, closed stdout, spawn error, start timeout), and turns
// each into a LaunchError that says what happened, quoting the stderr tail.
import { formatSeconds } from "../protocol/duration-text.js";
import type { ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { HandshakeError, parseHandshake, type Handshake } from "../protocol/handshake.js";
import { LaunchError } from "./launch-error.js";
import type { PluginOutput } from "./plugin-output.js";
import { describeExit, type ChildPluginProcess } from "./plugin-process.js";

/** After an early exit, how long to wait for the last stderr bytes. */
const STDERR_DRAIN_MS = 250;

/** Waits for the first stdout line, or the first sign that none will come. */
export async function awaitHandshake(
  name: string,
  executable: string,
  child: ChildProcess,
  proc: ChildPluginProcess,
  output: PluginOutput,
  timeoutMs: number,
): Promise<Handshake> {
  const label = `plugin ${name} (${executable})`;
  const ac = new AbortController();
  const outcome = new Promise<{ line: string } | { ended: true } | { exited: true } | { spawnError: Error }>(
    (resolve) => {
      output.onFirstLine({ line: (line) => resolve({ line: line.text }), end: () => resolve({ ended: true }) });
      void proc.exited.then(() => resolve({ exited: true }));
      child.once("error", (err) => resolve({ spawnError: err }));
    },
  );
  const timeout = sleep(timeoutMs, { timedOut: true as const }, { signal: ac.signal }).catch(() => undefined);
  const first = await Promise.race([outcome, timeout]);
  ac.abort();

  if (first === undefined || "timedOut" in first) {
    throw new LaunchError(
      "timeout",
      `${label} printed no handshake within ${formatSeconds(timeoutMs)}, so it was killed${output.tail.describe()}; ` +
        `raise startTimeoutMs if the plugin is just slow to start`,
    );
  }
  if ("spawnError" in first) {
    throw new LaunchError("spawn-failed", `cannot start ${label}: ${first.spawnError.message}`, {
      cause: first.spawnError,
    });
  }
  if ("ended" in first || "exited" in first) {
    // Give the plugin a moment to finish exiting and its stderr to drain: its last words say why.
    await proc.waitGone(STDERR_DRAIN_MS);
    if (proc.exit) await drained(output);
    const how = proc.exit ? describeExit(proc.exit) : "closed its stdout while still running";
    throw new LaunchError(
      proc.exit ? "exited" : "bad-handshake",
      `${label} ${how} before printing its handshake${output.tail.describe()}`,
    );
  }
  try {
    return parseHandshake(first.line);
  } catch (err) {
    if (!(err instanceof HandshakeError)) throw err;
    throw new LaunchError("bad-handshake", `${label} did not start with a handshake: ${err.message}`, { cause: err });
  }
}

/**
 * Resolves once the plugin's stdout and stderr reached their end (the output
 * is read), or after a short wait when a grandchild still holds them open.
 * Not the child's 'close' event: that also waits for the stdin lifeline,
 * which the host itself holds.
 */
export async function drained(output: PluginOutput): Promise<void> {
  const ac = new AbortController();
  await Promise.race([output.ended, sleep(STDERR_DRAIN_MS, undefined, { signal: ac.signal }).catch(() => undefined)]);
  ac.abort();
}

/**
 * A plugin that printed its handshake and then died leaves an address that
 * fails the checks; "the socket does not exist" would hide the real story, so
 * when the process is gone (or goes at once) the error says it exited.
 */
export async function explainAfterHandshake(
  err: unknown,
  name: string,
  executable: string,
  child: ChildProcess,
  proc: ChildPluginProcess,
  output: PluginOutput,
): Promise<unknown> {
  if (!(err instanceof LaunchError) || err.reason !== "untrusted-address") return err;
  if (!(await proc.waitGone(STDERR_DRAIN_MS)) || !proc.exit) return err;
  await drained(output);
  return new LaunchError(
    "exited",
    `plugin ${name} (${executable}) ${describeExit(proc.exit)} right after its handshake${output.tail.describe()}`,
    { cause: err },
  );
}
