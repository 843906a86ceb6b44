// The frame every machine command runs in: take the machine's lock (for
// commands that change it), read its config.json, launch its driver's plugin,
// load the config with SetConfig, run the command, save the config if the
// driver changed it, close the plugin, release the lock. Each step is undone
// on every way out, Ctrl-C included.
import { isDeepStrictEqual } from "node:util";
import { jsonConfig } from "../host/index.js";
import type { CallOptions } from "../host/index.js";
import type { CliContext } from "./cli-context.js";
import { timeoutFailure } from "./command-timeout.js";
import { CliError, EXIT_DRIVER } from "./cli-error.js";
import { printable } from "../host/printable-text.js";
import type { DriverClient, DriverHandle } from "./driver-launcher.js";
import { isMachineLocked, lockMachine, type MachineLock } from "./machine-lock.js";
import type { MachineRecord } from "./machine-store.js";
import type { WaitNotice } from "./wait-notice.js";

export interface MachineSession {
  name: string;
  record: MachineRecord;
  driver: DriverHandle;
  client: DriverClient;
  /** Aborted by Ctrl-C (or the caller's own signal), or when the command's time is up. */
  signal: AbortSignal;
  /** What every call of the command takes: the signal and the command's deadline. */
  call: CallOptions;
  /** Says "still waiting for the driver" on a terminal while the driver is silent; progress counts as an answer. */
  wait: WaitNotice;
}

export interface SessionOptions {
  /** Commands that change the machine hold its lock; queries do not. */
  mutating: boolean;
  /** Overrides the context's signal. */
  signal?: AbortSignal;
  /**
   * Bounds the machine's turn (its plugin's start and its calls). When it
   * runs out the command fails with a CliError (DEADLINE_EXCEEDED) whose
   * cause is the TurnTimeout.
   */
  timeoutMs?: number;
}

const configCodec = jsonConfig();

export const encodeConfig = (config: Record<string, unknown>): Buffer => configCodec.encode(config);

/** A driver config is settings, not data: bounds that keep a hostile one from filling the store. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
export const MAX_CONFIG_DEPTH = 32;

/** How deeply `value` nests, counted up to `limit + 1` (breadth first: no recursion to overflow). */
function depthOf(value: unknown, limit: number): number {
  let depth = 0;
  let level: unknown[] = [value];
  while (depth <= limit) {
    const next: unknown[] = [];
    for (const v of level) if (typeof v === "object" && v !== null) next.push(...Object.values(v));
    if (next.length === 0) break;
    depth++;
    level = next;
  }
  return depth;
}

export function decodeConfig(bytes: Uint8Array, driver: string): Record<string, unknown> {
  // The driver is at fault, not the user and not driverplug: the driver's exit code.
  const refuse = (why: string, cause?: unknown) =>
    new CliError(
      `driver ${JSON.stringify(driver)} returned ${why}; nothing was stored: report this to the driver's author`,
      EXIT_DRIVER,
      { cause },
    );
  if (bytes.length > MAX_CONFIG_BYTES)
    throw refuse(`a config of ${bytes.length} bytes, over the ${MAX_CONFIG_BYTES}-byte limit`);
  let config: Record<string, unknown>;
  try {
    config = configCodec.decode(bytes);
  } catch (err) {
    throw refuse(`an unusable config (${printable((err as Error).message)})`, err);
  }
  if (depthOf(config, MAX_CONFIG_DEPTH) > MAX_CONFIG_DEPTH)
    throw refuse(`a config nested deeper than ${MAX_CONFIG_DEPTH} levels`);
  return config;
}

/** Runs `fn` with the plugin of `driver`, closing the plugin however `fn` ends. */
export async function withDriver<T>(
  ctx: CliContext,
  driver: string,
  fn: (d: DriverHandle) => Promise<T>,
  signal = ctx.signal,
  startTimeoutMs?: number,
): Promise<T> {
  const handle = await ctx.launchDriver(driver, signal, startTimeoutMs);
  try {
    return await fn(handle);
  } finally {
    await handle.close();
  }
}

export async function withMachine<T>(
  ctx: CliContext,
  name: string,
  options: SessionOptions,
  fn: (m: MachineSession) => Promise<T>,
): Promise<T> {
  const outer = options.signal ?? ctx.signal;
  let lock: MachineLock | undefined;
  if (options.mutating)
    lock = await lockMachine(ctx.store, name, {
      timeoutMs: ctx.lockTimeoutMs,
      command: ctx.commandLine,
      signal: outer,
    });
  // A lock lost while held stops the command: nothing more is asked of the driver or saved.
  const signal = lock ? AbortSignal.any([outer, lock.lost]) : outer;
  let driver = "?";
  const wait = ctx.waitNotice(options.timeoutMs);
  try {
    const record = await ctx.store.read(name);
    driver = record.driver;
    return await ctx.plugins.withMachine(
      record.driver,
      name,
      {
        signal,
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        // A query of a machine another command is changing does not wait behind it on a shared warm plugin.
        ...(options.mutating ? {} : { busy: () => isMachineLocked(ctx.store, name) }),
      },
      async (plugin, turn) => {
        const call: CallOptions = { signal: turn.signal, ...(turn.deadline ? { deadline: turn.deadline } : {}) };
        await plugin.client.setConfig({ configJson: encodeConfig(record.config) }, call);
        const session: MachineSession = {
          name,
          record,
          driver: plugin.driver,
          client: plugin.client,
          signal: turn.signal,
          call,
          wait,
        };
        if (!options.mutating) return fn(session);
        try {
          const result = await fn(session);
          lock?.assertHeld();
          return result;
        } finally {
          if (!lock?.lost.aborted) await saveChangedConfig(ctx, session);
        }
      },
    );
  } catch (err) {
    lock?.assertHeld();
    throw timeoutFailure(err, undefined, { driver, machine: name }) ?? err;
  } finally {
    wait.stop();
    await lock?.release();
  }
}

/**
 * Stores the driver's config if it changed, also after a failed or
 * interrupted operation: what the driver did must stay recorded. Not
 * interruptible, and best effort when the plugin is gone.
 */
async function saveChangedConfig(ctx: CliContext, m: MachineSession): Promise<void> {
  // Nothing to save once the plugin is gone or the machine was removed.
  if (m.driver.gone || !(await ctx.store.hasConfig(m.name))) return;
  let config: Record<string, unknown>;
  try {
    config = decodeConfig((await m.client.getConfig({}, { timeoutMs: 5_000 })).configJson, m.record.driver);
  } catch {
    return;
  }
  if (!isDeepStrictEqual(config, m.record.config)) {
    await ctx.store.write(m.name, { driver: m.record.driver, config });
    m.record = { driver: m.record.driver, config };
  }
}
