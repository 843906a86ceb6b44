// Runs checks one after another, each with a fresh store dir, a unique
// machine name and its own plugins, and reports each result as it comes.
// Before the checks it launches the plugin once to read GetInfo (for the
// capability gates) and GetCreateFlags (to type the --flag values). An
// interrupt stops the check in flight, runs its cleanup and ends the run.
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { CheckFailed, CheckSkipped, checkId, type Check, type CheckResult, type DriverInfo } from "./check.js";
import { ClientError } from "../host/client-error.js";
import { capabilityName, optionalLeftOut } from "./capability-calls.js";
import { CheckContext } from "./check-context.js";
import { typedFlagValues } from "./flag-values.js";
import { KitPlugin } from "./kit-plugin.js";
import { LeftProcesses } from "./left-processes.js";
import type { KitSettings } from "./kit-settings.js";

export interface RunOptions {
  /** Run only the checks whose "category > name" matches. */
  focus?: RegExp;
  /** Leave out the checks whose "category > name" matches. */
  skip?: RegExp;
  /** Keep the store dir of a failed check (its path is in the message). */
  keep?: boolean;
  signal?: AbortSignal;
  onResult?(result: CheckResult): void;
  /** How many checks run at once (each with its own plugins and store); default 2. */
  jobs?: number;
}

export const DEFAULT_JOBS = 2;

export interface ConformanceReport {
  driver: string;
  executable: string;
  results: CheckResult[];
  passed: number;
  failed: number;
  skipped: number;
  ms: number;
  /** True when the run was stopped before every check ran. */
  interrupted: boolean;
}

/** How long a plugin's leftover may take to end by itself after the check's cleanup (a VM still powering off). */
const LEFT_GRACE_MS = 2000;

/** Checks a run goes past after this long, so one stuck check cannot stall the kit (each call also has its deadline). */
function checkTimeoutMs(settings: KitSettings): number {
  // Two launches' handshakes beside the steps: the persistence checks start a successor.
  return settings.stepTimeoutMs * 4 + 2 * (settings.startTimeoutMs ?? settings.stepTimeoutMs) + 10_000;
}

/** GetInfo and GetCreateFlags from one plugin launched before the checks. */
async function readDriver(settings: KitSettings): Promise<DriverInfo> {
  let plugin: KitPlugin | undefined;
  // Not a check: what this plugin leaves is ended, and the checks, which launch the same plugin, report it.
  const left = new LeftProcesses();
  try {
    plugin = await KitPlugin.launch(settings, {}, left);
    const info = await plugin.client.getInfo({});
    const flags = await plugin.client.getCreateFlags({}).then(
      (r) => r.flags,
      (err: unknown) => {
        if (err instanceof ClientError && optionalLeftOut(err)) return [];
        throw err;
      },
    );
    settings.flagValues = typedFlagValues(flags, settings.flags);
    return { ok: true, info, appVersion: plugin.appVersion };
  } catch (err) {
    if ((err as Error).name === "FlagTextError") throw err;
    return { ok: false, error: (err as Error).message };
  } finally {
    await plugin?.close();
    await left.report(LEFT_GRACE_MS, settings.allowRunning);
  }
}

export async function runChecks(
  checks: readonly Check[],
  settings: KitSettings,
  options: RunOptions = {},
): Promise<ConformanceReport> {
  const started = performance.now();
  const signal = options.signal ?? new AbortController().signal;
  const chosen = checks.filter(
    (c) => (!options.focus || options.focus.test(checkId(c))) && !options.skip?.test(checkId(c)),
  );
  const results: CheckResult[] = [];
  const report = (): ConformanceReport => ({
    driver: settings.name,
    executable: settings.executable,
    results,
    passed: results.filter((r) => r.status === "PASS").length,
    failed: results.filter((r) => r.status === "FAIL").length,
    skipped: results.filter((r) => r.status === "SKIP").length,
    ms: Math.round(performance.now() - started),
    interrupted: signal.aborted,
  });
  await fs.mkdir(settings.workDir, { recursive: true, mode: 0o700 });
  const driver = chosen.some((c) => c.usesInfo !== false)
    ? await readDriver(settings)
    : ({ ok: false, error: "not read" } as const);
  const runId = randomBytes(3).toString("hex");
  // Results are reported in the checks' order, whichever finishes first.
  const done: (CheckResult | undefined)[] = [];
  let reported = 0;
  const flush = () => {
    while (reported < chosen.length && done[reported] !== undefined) {
      const result = done[reported++]!;
      results.push(result);
      options.onResult?.(result);
    }
  };
  const jobs = Math.max(1, options.jobs ?? DEFAULT_JOBS);
  const running = new Set<Promise<void>>();
  for (const [i, check] of chosen.entries()) {
    // A check that measures how the plugin copes with a long operation runs with nothing beside it.
    const limit = check.alone ? 1 : jobs;
    while (running.size >= limit || (check.alone && running.size > 0)) await Promise.race(running);
    if (signal.aborted) break;
    const job = runOne(check, settings, driver, `cf${runId}-${i + 1}`, signal, options.keep ?? false).then((result) => {
      // A check cut short by the interrupt says nothing about the driver: not reported.
      if (!(signal.aborted && result.status !== "PASS")) done[i] = result;
      running.delete(job);
      flush();
    });
    running.add(job);
    if (check.alone) await job;
  }
  await Promise.all(running);
  // After an interrupt, the checks that did finish, still in order.
  for (; reported < chosen.length; reported++) {
    const result = done[reported];
    if (result === undefined) continue;
    results.push(result);
    options.onResult?.(result);
  }
  return report();
}

async function runOne(
  check: Check,
  settings: KitSettings,
  driver: DriverInfo,
  machineName: string,
  signal: AbortSignal,
  keep: boolean,
): Promise<CheckResult> {
  const started = performance.now();
  const done = (status: CheckResult["status"], message?: string): CheckResult => ({
    category: check.category,
    name: check.name,
    status,
    ms: Math.round(performance.now() - started),
    ...(message !== undefined ? { message } : {}),
  });
  const missing = (check.needs ?? []).filter((c) => !(driver.ok && driver.info.capabilities.includes(c)));
  if (missing.length > 0) {
    if (!driver.ok)
      return done(
        "FAIL",
        `cannot tell whether the driver advertises ${missing.map(capabilityName).join(", ")}: ${driver.error}`,
      );
    return done("SKIP", `the driver does not advertise ${missing.map(capabilityName).join(", ")}`);
  }
  const storePath = await fs.mkdtemp(join(settings.workDir, `${machineName}-`));
  const ac = new AbortController();
  const onAbort = () => ac.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  const ctx = new CheckContext(settings, checkId(check), driver, machineName, storePath, ac.signal);
  let status: CheckResult["status"] = "PASS";
  let message: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const stopped = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new CheckFailed(`the check did not finish within ${checkTimeoutMs(settings) / 1000} s`)),
        checkTimeoutMs(settings),
      );
      ac.signal.addEventListener("abort", () => reject(new Error("interrupted")), { once: true });
    });
    await Promise.race([check.run(ctx), stopped]);
  } catch (err) {
    if (err instanceof CheckSkipped) {
      status = "SKIP";
      message = err.message;
    } else {
      status = "FAIL";
      message =
        err instanceof CheckFailed ? err.message : `the check itself failed: ${(err as Error).stack ?? String(err)}`;
    }
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
  ac.abort();
  const problems = await ctx.cleanup();
  if (problems.length > 0 && status !== "FAIL") {
    status = "FAIL";
    message = `cleanup failed: ${problems.join("; ")}`;
  } else if (problems.length > 0) {
    message = `${message}; cleanup failed too: ${problems.join("; ")}`;
  }
  // Once its machine is removed and its plugins closed, nothing of the check may still run.
  const left = await ctx.left.report(LEFT_GRACE_MS, settings.allowRunning);
  if (left.length > 0) {
    const said = `the driver left ${left.length} process${left.length === 1 ? "" : "es"} running after its plugins were closed and its machine removed (the kit ended them): ${left.join(", ")}`;
    message = status === "FAIL" ? `${message}; ${said}` : said;
    status = "FAIL";
  }
  if (keep && status === "FAIL") {
    message = `${message} (store kept: ${storePath})`;
  } else {
    await fs.rm(storePath, { recursive: true, force: true });
  }
  return done(status, message);
}
