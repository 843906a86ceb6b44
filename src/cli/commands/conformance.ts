// `driverplug conformance`: runs the conformance kit against a driver found
// by name or given as an executable, printing one line per check as it ends
// and the closing `N passed, N failed, N skipped`. Exit 0 only when nothing
// failed; Ctrl-C stops the check in flight, cleans up and exits 130.
import { readFile, writeFile } from "node:fs/promises";
import { Command, InvalidArgumentError, Option } from "commander";
import {
  FlagTextError,
  formatResult,
  formatSummary,
  parseFlagAssignment,
  runConformance,
  toJUnit,
  DEFAULT_REPEAT,
  DEFAULT_STEP_TIMEOUT_MS,
  DEFAULT_JOBS,
  type ConformanceOptions,
} from "../../conformance/index.js";
import type { CliContext } from "../cli-context.js";
import { printJson, println } from "../cli-context.js";
import { CliError, EXIT_FAILURE, EXIT_USAGE } from "../cli-error.js";
import { passEnvFrom, pluginDirsFrom } from "../driver-launcher.js";
import { Interrupted } from "../interrupt.js";
import { parseJsonObjectArg } from "../json-object-arg.js";
import { parseSeconds } from "./ls.js";

interface Options {
  driver?: string;
  plugin?: string;
  config?: string;
  slowConfig?: string;
  slowCreateConfig?: string;
  slowStartConfig?: string;
  secretConfig?: string;
  flag: string[];
  focus?: string;
  skip?: string;
  repeat: number;
  jobs: number;
  timeout: number;
  keep?: boolean;
  json?: boolean;
  junit?: string;
}

function regex(value: string): RegExp {
  try {
    return new RegExp(value);
  } catch (err) {
    throw new InvalidArgumentError(`Not a regular expression: ${(err as Error).message}.`);
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("Expected a whole number of at least 1.");
  return n;
}

async function jsonFile(path: string | undefined, what: string): Promise<Record<string, unknown> | undefined> {
  if (path === undefined) return undefined;
  const text = await readFile(path, "utf8").catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`${what} ${path} cannot be read (${err.code ?? err.message})`, EXIT_USAGE);
  });
  return parseJsonObjectArg(text, `${what} ${path}`, '{"cpus": 2}');
}

export function conformanceCommand(ctx: () => CliContext): Command {
  return new Command("conformance")
    .description(
      "run the driver contract's conformance checks against a driver plugin (DRIVERPLUG_PASS_ENV names variables it may inherit)",
    )
    .addOption(new Option("--driver <name>", "a driver, found as other commands find plugins").conflicts("plugin"))
    .addOption(new Option("--plugin <path>", "a plugin executable (driverplug-driver-<name>)"))
    .option("--config <file.json>", "driver-specific config, merged under each check's machineName and storePath")
    .option("--slow-config <file.json>", "config merged in where a check acts during a Create or Start lasting seconds")
    .option(
      "--slow-create-config <file.json>",
      "the same for Create alone (none for a driver whose Create is quick by nature)",
    )
    .option("--slow-start-config <file.json>", "the same for Start alone")
    .option("--secret-config <file.json>", 'config holding "${SECRET}" where a password goes, for the secrets check')
    .option("--flag <name=value>", "a create flag value (repeatable)", (v: string, all: string[]) => [...all, v], [])
    .option(
      "--allow-running <regex>",
      "processes the plugins may leave running (command lines), e.g. a daemon they share",
      regex,
    )
    .option("--focus <regex>", 'run only the checks whose "category > check" matches', regex)
    .option("--skip <regex>", 'leave out the checks whose "category > check" matches', regex)
    .option("--repeat <n>", "how many times to repeat the whole lifecycle", positiveInt, DEFAULT_REPEAT)
    .option("--timeout <seconds>", "deadline of each step", parseSeconds, DEFAULT_STEP_TIMEOUT_MS / 1000)
    .option("--jobs <n>", "how many checks run at once (timing checks always run alone)", positiveInt, DEFAULT_JOBS)
    .option("--keep", "keep the store dir of a failed check")
    .option("--json", "print the report as JSON instead of lines")
    .option("--junit <file>", "also write the report as JUnit XML")
    .action(async (opts: Options & { focus?: RegExp; skip?: RegExp; allowRunning?: RegExp }) => {
      const c = ctx();
      if (opts.driver === undefined && opts.plugin === undefined)
        throw new CliError("give --driver <name> or --plugin <path>", EXIT_USAGE);
      const flags: Record<string, string> = {};
      for (const text of opts.flag) {
        try {
          const [name, value] = parseFlagAssignment(text);
          flags[name] = value;
        } catch (err) {
          throw new CliError((err as Error).message, EXIT_USAGE);
        }
      }
      const options: ConformanceOptions = {
        ...(opts.driver !== undefined ? { driver: opts.driver, pluginDirs: pluginDirsFrom(c.io.env) } : {}),
        ...(opts.plugin !== undefined ? { plugin: opts.plugin } : {}),
        flags,
        inheritEnv: passEnvFrom(c.io.env),
        repeat: opts.repeat,
        jobs: opts.jobs,
        stepTimeoutMs: opts.timeout * 1000,
        signal: c.signal,
        ...(opts.keep ? { keep: true } : {}),
        ...(opts.focus ? { focus: opts.focus } : {}),
        ...(opts.allowRunning ? { allowRunning: opts.allowRunning } : {}),
        ...(opts.skip ? { skip: opts.skip } : {}),
        onResult: (r) => {
          if (!opts.json) println(c.io, formatResult(r));
        },
      };
      const config = await jsonFile(opts.config, "--config");
      const slowConfig = await jsonFile(opts.slowConfig, "--slow-config");
      const slowCreateConfig = await jsonFile(opts.slowCreateConfig, "--slow-create-config");
      const slowStartConfig = await jsonFile(opts.slowStartConfig, "--slow-start-config");
      const secretConfig = await jsonFile(opts.secretConfig, "--secret-config");
      if (config) options.config = config;
      if (slowConfig) options.slowConfig = slowConfig;
      if (slowCreateConfig) options.slowCreateConfig = slowCreateConfig;
      if (slowStartConfig) options.slowStartConfig = slowStartConfig;
      if (secretConfig) options.secretConfig = secretConfig;
      const report = await runConformance(options).catch((err: unknown) => {
        if (err instanceof FlagTextError) throw new CliError(err.message, EXIT_USAGE);
        throw err;
      });
      if (opts.junit !== undefined) await writeFile(opts.junit, toJUnit(report));
      if (opts.json) printJson(c.io, report);
      else println(c.io, formatSummary(report));
      if (report.interrupted) throw new Interrupted();
      if (report.failed > 0)
        throw new CliError(`${report.failed} of ${report.results.length} conformance checks failed`, EXIT_FAILURE);
    });
}
