// Warm plugins: a driver's plugin that serves many machines (and ends by
// itself when idle) is left running after a command, so the next command
// reconnects to it instead of starting Node again. Its record lives in
// <store>/plugins/<driver>.json (warm-record.ts), written under
// the lock <store>/locks/plugin@<driver>.lock, so two commands share one
// plugin or the second starts its own, never a half-written record.
//
// Reuse trusts nothing in the record: reattach()'s checks (the private dir,
// the socket, the pid alive and holding that socket; a stale or forged record
// is refused and nothing is signalled), the plugin's files and environment
// unchanged (plugin-identity.ts), and the plugin still answering that it ends
// when idle. Anything else: the record goes and a fresh plugin starts.
import { Capability } from "../../generated/driverplug/driver/v1/driver.js";
import { findPlugin } from "../host/find-plugin.js";
import { launch, type LaunchOptions } from "../host/launch.js";
import type { PluginHandle } from "../host/plugin-handle.js";
import { reattach } from "../host/reattach.js";
import { writeFileAtomic } from "../fs/atomic-write.js";
import { lockMachine, type MachineLock } from "./machine-lock.js";
import type { MachineStore } from "./machine-store.js";
import { environmentDigest, pluginFiles, sameFiles } from "./plugin-identity.js";
import {
  ensurePluginsDir,
  readRecord,
  recordPath,
  removeRecord,
  touchRecord,
  RECORD_FORMAT,
  type WarmRecord,
} from "./warm-record.js";

export {
  DEFAULT_WARM_S,
  liveRecord,
  parseWarmSeconds,
  pluginsDir,
  readRecord,
  recordedDrivers,
  recordUsedAt,
  removeRecord,
  WARM_ENV,
  warmArg,
  warmIdleMs,
  type WarmRecord,
} from "./warm-record.js";

/** How long a command waits for another one starting the same driver's plugin before it starts its own. */
const RECORD_LOCK_MS = 10_000;

/** The lock name: "@" is not allowed in machine names, so it never meets a machine's lock. */
function lockName(driver: string): string {
  return `plugin@${driver}`;
}

export async function lockRecord(store: MachineStore, driver: string, timeoutMs: number): Promise<MachineLock> {
  return lockMachine(store, lockName(driver), { timeoutMs, command: `driverplug (warm plugin ${driver})` });
}

/** A plugin for one command: `keep` says close() only lets go of it (detach) and it stays warm. */
export interface WarmAcquired {
  handle: PluginHandle;
  keep: boolean;
  /** True when it was reattached rather than launched. */
  reused: boolean;
}

export class WarmPlugins {
  /** Drivers whose plugin turned out not to serve many machines (or not to end when idle): launched as usual. */
  private readonly cold = new Set<string>();

  constructor(
    private readonly store: MachineStore,
    readonly idleMs: number,
  ) {}

  /** A plugin of `driver`: the warm one if it passes every check, else a fresh one (kept warm when it can be). */
  async acquire(driver: string, options: LaunchOptions): Promise<WarmAcquired> {
    if (this.cold.has(driver)) return { handle: await launch(driver, options), keep: false, reused: false };
    const executable = options.executable ?? (await findPlugin(driver, options)).path;
    const env = environmentDigest(process.env, options.inheritEnv ?? []);
    await ensurePluginsDir(this.store);
    // The usual case takes no lock (whose holder file costs two fsyncs): a record is replaced by
    // rename, so it is read whole, old or new, and either passes every check or is left for the locked path.
    const seen = await readRecord(this.store, driver, false);
    if (seen) {
      const handle = await this.reuse(seen, executable, env, options);
      if (handle) return { handle, keep: true, reused: true };
    }
    let lock: MachineLock;
    try {
      lock = await lockRecord(this.store, driver, RECORD_LOCK_MS);
    } catch {
      // Another command is slow to start this driver: this one runs its own, as without warm plugins.
      return { handle: await launch(driver, { ...options, executable }), keep: false, reused: false };
    }
    try {
      const record = await readRecord(this.store, driver);
      if (record) {
        const handle = await this.reuse(record, executable, env, options);
        if (handle) return { handle, keep: true, reused: true };
        await removeRecord(this.store, driver);
      }
      const handle = await launch(driver, { ...options, executable, idleExitMs: this.idleMs });
      const [shared, idles] = await Promise.all([servesManyMachines(handle), handle.honoursIdleExit()]);
      if (!shared || !idles) {
        this.cold.add(driver);
        return { handle, keep: false, reused: false };
      }
      const fresh: WarmRecord = {
        format: RECORD_FORMAT,
        reattach: { ...handle.record },
        idleMs: this.idleMs,
        executable,
        files: await pluginFiles(executable, handle.pid),
        env,
        startedAt: new Date().toISOString(),
      };
      try {
        await writeFileAtomic(recordPath(this.store, driver), `${JSON.stringify(fresh)}\n`);
      } catch {
        // No record (a full disk): the plugin serves this command and is closed after it.
        return { handle, keep: false, reused: false };
      }
      return { handle, keep: true, reused: false };
    } finally {
      await lock.release();
    }
  }

  /** After a command: the record's mtime says when the warm plugin was last let go of. */
  async touch(driver: string): Promise<void> {
    await touchRecord(this.store, driver);
  }

  private async reuse(
    record: WarmRecord,
    executable: string,
    env: string,
    options: LaunchOptions,
  ): Promise<PluginHandle | undefined> {
    // A rebuilt plugin, another executable for the name, another environment: start a new one. The old one
    // is left to its idle exit (a command may still be using it).
    if (record.executable !== executable || record.env !== env || !(await sameFiles(record.files))) return undefined;
    let handle: PluginHandle;
    try {
      handle = await reattach(record.reattach, {
        ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}),
        ...(options.termGraceMs !== undefined ? { termGraceMs: options.termGraceMs } : {}),
      });
    } catch {
      return undefined;
    }
    // Also the first call: a plugin that reached its idle exit a moment ago does not answer it.
    if (await handle.honoursIdleExit()) return handle;
    handle.detach();
    return undefined;
  }
}

/** GetInfo's capabilities; a plugin that cannot answer it serves one machine. */
async function servesManyMachines(handle: PluginHandle): Promise<boolean> {
  try {
    const info = await handle.client.getInfo({}, { timeoutMs: 5_000 });
    return info.capabilities.includes(Capability.CAPABILITY_MACHINE_INSTANCES);
  } catch {
    return false;
  }
}
