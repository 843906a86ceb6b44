// driverplug/conformance: the driver contract as checks, for a driver's own
// test suite (vitest, node:test...) and for `driverplug conformance`.
//
//   import { runConformance, formatResult } from "driverplug/conformance";
//   const report = await runConformance({ plugin: "bin/driverplug-driver-mine", onResult: (r) => console.log(formatResult(r)) });
//   expect(report.failed).toBe(0);
import { promises as fs, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, isAbsolute, join, resolve } from "node:path";
import { findPlugin, PLUGIN_PREFIX } from "../host/find-plugin.js";
import { DEFAULT_COOKIE, type MagicCookie } from "../protocol/env.js";
import { assertDriverName } from "../socket/socket-path.js";
import { beforeCreateChecks } from "./before-create-checks.js";
import { BUNDLED_PROFILES, type DriverProfile } from "./bundled-profiles.js";
import type { Check, CheckResult } from "./check.js";
import { concurrencyChecks } from "./concurrency-checks.js";
import { createChecks } from "./create-checks.js";
import { flagsConfigChecks } from "./flags-config-checks.js";
import { hygieneChecks } from "./hygiene-checks.js";
import { identityChecks } from "./identity-checks.js";
import { DEFAULT_REPEAT, DEFAULT_STEP_TIMEOUT_MS, type JsonObject, type KitSettings } from "./kit-settings.js";
import { lifecycleChecks } from "./lifecycle-checks.js";
import { machineStatesChecks } from "./machine-states-checks.js";
import { persistenceChecks } from "./persistence-checks.js";
import { protocolChecks } from "./protocol-checks.js";
import { runChecks, type ConformanceReport } from "./runner.js";
import { watchStateChecks } from "./watch-state-checks.js";

export { CATEGORIES, checkId, type Category, type Check, type CheckResult, type CheckStatus } from "./check.js";
export type { ConformanceReport } from "./runner.js";
export { formatResult, formatSummary, toJUnit } from "./report.js";
export { DEFAULT_JOBS } from "./runner.js";
export { SECRET_PLACEHOLDER, DEFAULT_REPEAT, DEFAULT_STEP_TIMEOUT_MS } from "./kit-settings.js";
export { START_DEADLINE_MS } from "./concurrency-checks.js";
export { parseFlagAssignment, FlagTextError } from "./flag-values.js";

/** Every check, in the order a run takes them. */
export const CONFORMANCE_CHECKS: readonly Check[] = Object.freeze([
  ...protocolChecks,
  ...identityChecks,
  ...flagsConfigChecks,
  ...beforeCreateChecks,
  ...createChecks,
  ...lifecycleChecks,
  ...persistenceChecks,
  ...watchStateChecks,
  ...machineStatesChecks,
  ...concurrencyChecks,
  ...hygieneChecks,
]);

export interface ConformanceOptions {
  /** A driver name, found as hosts find plugins (bundled, pluginDirs, PATH)... */
  driver?: string;
  /** ...or the plugin executable's path (named driverplug-driver-<name>[.ext]). */
  plugin?: string;
  pluginDirs?: readonly string[];
  /** Driver-specific config; the kit adds a fresh machineName and storePath per check. */
  config?: JsonObject;
  /** Merged in where a check acts during a long Create or Start: both slow configs at once; bundled drivers have their own. */
  slowConfig?: JsonObject;
  /** Merged in where a check acts during a long Create; wins over slowConfig. */
  slowCreateConfig?: JsonObject;
  /** Merged in where a check acts during a long Start; wins over slowConfig. */
  slowStartConfig?: JsonObject;
  /**
   * Processes the driver's plugins may leave running (matched against their
   * command line), e.g. a daemon they share; bundled drivers have their own.
   * Anything else still running after a check fails it.
   */
  allowRunning?: RegExp;
  /** Merged in for the secrets check, with SECRET_PLACEHOLDER where a password goes. */
  secretConfig?: JsonObject;
  /** Create flag values by name, as text (`cpus: "4"`), typed by the driver's GetCreateFlags. */
  flags?: Record<string, string>;
  focus?: RegExp;
  skip?: RegExp;
  /** How often the lifecycle check repeats the whole cycle; default 2. */
  repeat?: number;
  /** Deadline of every call and wait, in ms; default 120 s. */
  stepTimeoutMs?: number;
  /** How long each plugin may take to print its handshake, in ms; default stepTimeoutMs. */
  startTimeoutMs?: number;
  /** Keep the store dir of a failed check. */
  keep?: boolean;
  cookie?: MagicCookie;
  /** Extra environment for the plugin. */
  env?: Record<string, string>;
  /**
   * Names of this process's environment variables the plugin inherits, as
   * launch()'s inheritEnv (e.g. LIBVIRT_DEFAULT_URI); `driverplug conformance`
   * takes them from DRIVERPLUG_PASS_ENV, as every other command does.
   */
  inheritEnv?: readonly string[];
  /** Where the plugins' private socket dirs go; the host's default when unset. */
  socketBaseDir?: string;
  /** Where store dirs go; default a fresh dir under the OS temp dir, removed at the end. */
  workDir?: string;
  signal?: AbortSignal;
  onResult?(result: CheckResult): void;
  /** How many checks run at once, each with its own plugins and store; default 2 (timing checks always run alone). */
  jobs?: number;
  /** The checks to run; default CONFORMANCE_CHECKS. */
  checks?: readonly Check[];
}

/** The driver's name from its executable: driverplug-driver-<name>, an extension dropped. */
export function driverNameOf(executable: string): string {
  const base = basename(executable).replace(/\.[A-Za-z0-9]+$/, "");
  const name = base.startsWith(PLUGIN_PREFIX) ? base.slice(PLUGIN_PREFIX.length) : base;
  assertDriverName(name);
  return name;
}

async function resolveExecutable(options: ConformanceOptions): Promise<{ name: string; executable: string }> {
  if ((options.driver === undefined) === (options.plugin === undefined))
    throw new Error("give either a driver name (driver) or a plugin executable (plugin), not both or neither");
  if (options.driver !== undefined) {
    const found = await findPlugin(options.driver, options.pluginDirs ? { pluginDirs: options.pluginDirs } : {});
    return { name: options.driver, executable: found.path };
  }
  const executable = isAbsolute(options.plugin!) ? options.plugin! : resolve(options.plugin!);
  await fs.access(executable).catch(() => {
    throw new Error(`plugin executable ${executable} does not exist`);
  });
  return { name: driverNameOf(executable), executable };
}

/**
 * The slow configs of Create and Start: each its own, else the common one,
 * else the bundled driver's. A driver whose Create is quick by nature gives
 * only a slow Start config, and the cancelled-Create check skips instead of failing.
 */
function slowConfigs(
  options: ConformanceOptions,
  profile: DriverProfile | undefined,
): Pick<KitSettings, "slowCreateConfig" | "slowStartConfig"> {
  const given =
    options.slowConfig !== undefined || options.slowCreateConfig !== undefined || options.slowStartConfig !== undefined;
  const common = options.slowConfig ?? (given ? undefined : profile?.slowConfig);
  const create = options.slowCreateConfig ?? common;
  const start = options.slowStartConfig ?? common;
  return { ...(create ? { slowCreateConfig: create } : {}), ...(start ? { slowStartConfig: start } : {}) };
}

/** Runs the kit against one driver; resolves with the report (it never throws for a failing check). */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const { name, executable } = await resolveExecutable(options);
  const repeat = options.repeat ?? DEFAULT_REPEAT;
  if (!Number.isInteger(repeat) || repeat < 1)
    throw new Error(`repeat must be a whole number of at least 1, got ${repeat}`);
  const profile = BUNDLED_PROFILES[name];
  const ownWorkDir = options.workDir === undefined;
  const workDir = options.workDir ?? (await fs.mkdtemp(join(tmpdir(), "driverplug-conformance-")));
  const settings: KitSettings = {
    name,
    executable,
    config: options.config ?? {},
    ...slowConfigs(options, profile),
    ...((options.secretConfig ?? profile?.secretConfig)
      ? { secretConfig: options.secretConfig ?? profile!.secretConfig! }
      : {}),
    flags: options.flags ?? {},
    flagValues: {},
    repeat,
    stepTimeoutMs: options.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS,
    ...(options.startTimeoutMs !== undefined ? { startTimeoutMs: options.startTimeoutMs } : {}),
    cookie: options.cookie ?? DEFAULT_COOKIE,
    env: options.env ?? {},
    inheritEnv: options.inheritEnv ?? [],
    ...((options.allowRunning ?? profile?.allowRunning)
      ? { allowRunning: options.allowRunning ?? profile!.allowRunning! }
      : {}),
    workDir,
    ...(options.socketBaseDir !== undefined ? { socketBaseDir: options.socketBaseDir } : {}),
  };
  // A process that ends abruptly (stdout closed under `| head`, a second Ctrl-C) still takes its store dirs along.
  const removeNow = () => rmSync(workDir, { recursive: true, force: true });
  if (ownWorkDir && !options.keep) process.on("exit", removeNow);
  try {
    return await runChecks(options.checks ?? CONFORMANCE_CHECKS, settings, {
      ...(options.focus ? { focus: options.focus } : {}),
      ...(options.skip ? { skip: options.skip } : {}),
      ...(options.keep ? { keep: true } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onResult ? { onResult: options.onResult } : {}),
      ...(options.jobs !== undefined ? { jobs: options.jobs } : {}),
    });
  } finally {
    process.off("exit", removeNow);
    // Kept store dirs (--keep) stay; an empty work dir goes.
    if (ownWorkDir) {
      if (options.keep) await fs.rmdir(workDir).catch(() => undefined);
      else await fs.rm(workDir, { recursive: true, force: true });
    }
  }
}
