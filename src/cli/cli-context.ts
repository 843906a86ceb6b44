// What every command needs, made once per run: where to write, the store, the
// Ctrl-C signal, the lock timeout, and how to launch a driver's plugin.
import type { DriverHandle } from "./driver-launcher.js";
import type { MachineStore } from "./machine-store.js";
import type { PluginPool } from "./plugin-pool.js";
import type { WaitNotice } from "./wait-notice.js";

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export interface CliContext {
  io: Io;
  store: MachineStore;
  /** Aborted by Ctrl-C. */
  signal: AbortSignal;
  lockTimeoutMs: number;
  /** The command and its operands (e.g. "driverplug stop m1"), shown to commands waiting for this one's lock. */
  readonly commandLine: string;
  launchDriver(driver: string, signal?: AbortSignal, startTimeoutMs?: number): Promise<DriverHandle>;
  /** The run's plugins: one per driver where the plugin serves many machines; closed when the run ends. */
  plugins: PluginPool;
  /** True under --json: stderr holds nothing but the one JSON object of a failure. */
  json: boolean;
  /** Starts the "still waiting for the driver" notices of a wait bounded by `limitMs` (silent off a terminal and under --json). */
  waitNotice(limitMs?: number): WaitNotice;
}

/**
 * Writes a value as indented JSON; bigints (int64 fields) become numbers or
 * strings. JSON.stringify escapes C0 controls but not DEL or C1 (8-bit CSI):
 * those are escaped too, as JSON \u escapes, since the values are plugin text.
 */
export function printJson(io: Io, value: unknown): void {
  const text = JSON.stringify(
    value,
    (_k, v: unknown) => (typeof v === "bigint" ? (Number.isSafeInteger(Number(v)) ? Number(v) : String(v)) : v),
    2,
  );
  io.stdout.write(`${text.replace(/[\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}\n`);
}

export function println(io: Io, text = ""): void {
  io.stdout.write(`${text}\n`);
}
