// The `driverplug` command tree (commander 14: maintained, typed, supports
// Node 20, help groups for the driver's flags; commander 15 needs Node 22).
import { Command, Option } from "commander";
import type { CliContext } from "./cli-context.js";
import { EXIT_CODES } from "./cli-error.js";
import { bundleCommand } from "./commands/bundle.js";
import { configCommand } from "./commands/config.js";
import { conformanceCommand } from "./commands/conformance.js";
import { createCommand, type PreparedDriver } from "./commands/create.js";
import { driversCommand, inspectCommand } from "./commands/drivers.js";
import { lifecycleCommands } from "./commands/lifecycle.js";
import { lsCommand, parseSeconds } from "./commands/ls.js";
import { newDriverCommand } from "./commands/new-driver.js";
import { pluginsCommand } from "./commands/plugins.js";
import { queryCommands } from "./commands/queries.js";
import { rmCommand } from "./commands/rm.js";
import { sshCommand } from "./commands/ssh.js";
import { STORE_ENV } from "./machine-store.js";
import { CHANGE_TIMEOUT_S, LS_TIMEOUT_S, QUERY_TIMEOUT_S } from "./command-timeout.js";
import { PLUGIN_START_TIMEOUT_MS } from "./plugin-pool.js";
import { DEFAULT_STEP_TIMEOUT_MS } from "../conformance/index.js";
import { PLUGIN_DIRS_ENV } from "./driver-launcher.js";
import { DEFAULT_WARM_S, parseWarmSeconds, WARM_ENV } from "./warm-plugins.js";

export const DEFAULT_LOCK_TIMEOUT_S = 30;

export interface ProgramOutput {
  writeOut(text: string): void;
  writeErr(text: string): void;
}

export function buildProgram(
  ctx: () => CliContext,
  prepared: PreparedDriver | undefined,
  output: ProgramOutput,
): Command {
  const program = new Command("driverplug")
    .description("manage machines whose drivers run as driverplug plugins")
    .addOption(
      new Option("--lock-timeout <seconds>", "how long to wait for another command working on the same machine")
        .argParser(parseSeconds)
        .default(DEFAULT_LOCK_TIMEOUT_S),
    )
    .addOption(
      new Option(
        "--warm <seconds>",
        `how long a driver's plugin stays up after the command for the next one (0: stop it at once; default ${DEFAULT_WARM_S}, or ${WARM_ENV})`,
      ).argParser((v) => parseWarmSeconds(v, "--warm")),
    )
    .addHelpText(
      "after",
      `\nEnvironment:\n  ${STORE_ENV}         the machine store (default ~/.driverplug)\n  ${PLUGIN_DIRS_ENV}   extra folders with driverplug-driver-<name> plugins (":"-separated)\n  DRIVERPLUG_PASS_ENV      further variables plugins may inherit, e.g. LIBVIRT_DEFAULT_URI (","-separated)\n  DRIVERPLUG_TRACE         show every log line of the plugins\n  ${WARM_ENV}          seconds a driver's plugin stays up for the next command (default ${DEFAULT_WARM_S}; 0: off)`,
    );
  program.addHelpText(
    "after",
    `\nTime limits (--timeout <seconds> on each command changes its own):\n` +
      `  ${CHANGE_TIMEOUT_S} s  create, start, stop, restart, kill, rm, config set, config update: the plugin's start and every answer\n` +
      `  ${QUERY_TIMEOUT_S} s   status, ip, url, ssh-info, ssh, config get\n` +
      `  ${LS_TIMEOUT_S} s   ls, for each machine\n` +
      `  ${PLUGIN_START_TIMEOUT_MS / 1000} s   a plugin's start, within the above\n` +
      `  ${DEFAULT_STEP_TIMEOUT_MS / 1000} s  conformance, each step`,
  );
  program.addHelpText(
    "after",
    `\nExit codes (--json prints a failure as {"error": {code, exitCode, message, machine, hint, logs}} on stderr):\n${EXIT_CODES.map((c) => `  ${String(c.code).padEnd(4)} ${c.name.padEnd(20)} ${c.meaning}`).join("\n")}`,
  );
  program.addCommand(createCommand(ctx, prepared));
  for (const cmd of lifecycleCommands(ctx)) program.addCommand(cmd);
  program.addCommand(rmCommand(ctx));
  for (const cmd of queryCommands(ctx)) program.addCommand(cmd);
  program.addCommand(sshCommand(ctx));
  program.addCommand(lsCommand(ctx));
  program.addCommand(configCommand(ctx));
  program.addCommand(inspectCommand(ctx));
  program.addCommand(driversCommand(ctx));
  program.addCommand(pluginsCommand(ctx));
  program.addCommand(bundleCommand(ctx));
  program.addCommand(newDriverCommand(ctx));
  program.addCommand(conformanceCommand(ctx));
  configureTree(program, output);
  return program;
}

/** The full name of a command, e.g. "driverplug config set". */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/**
 * addCommand() does not pass settings down, so every command gets them here:
 * throw instead of exiting (main decides the exit code) and one-line errors
 * that point at the command's help.
 */
function configureTree(cmd: Command, output: ProgramOutput): void {
  cmd
    .exitOverride()
    // --lock-timeout works on every command: show it in every command's help.
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (s) => output.writeOut(s),
      writeErr: (s) => output.writeErr(s),
      outputError: (s, write) =>
        write(
          `driverplug: ${s
            .trim()
            .replace(/^error: /, "")
            .replace(/\s*\n\s*/g, " ")} (see "${commandPath(cmd)} --help")\n`,
        ),
    });
  for (const sub of cmd.commands) configureTree(sub, output);
}
