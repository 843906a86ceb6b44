// `driverplug create --driver <name> [driver flags] <machine>`: makes the
// machine's directory, has the driver create the machine there with the flags
// given, and saves its config. A failed or interrupted create leaves nothing
// behind: no directory, no config, no lock.
import { Command, Option } from "commander";
import type { CreateFlag, FlagValue } from "../../../generated/driverplug/driver/v1/driver.js";
import type { CliContext } from "../cli-context.js";
import { printJson, println } from "../cli-context.js";
import { CliError, EXIT_USAGE } from "../cli-error.js";
import { CommandDeadline, timeoutFailure, timeoutOption } from "../command-timeout.js";
import { driverFlagOptions } from "../create-flags.js";
import { parseJsonObjectArg } from "../json-object-arg.js";
import type { DriverHandle } from "../driver-launcher.js";
import { lockMachine } from "../machine-lock.js";
import { checkMachineName } from "../machine-name.js";
import { decodeConfig, encodeConfig } from "../machine-session.js";
import { optionalCall, unimplemented } from "../optional-call.js";
import { progressView, silentProgress } from "../progress-view.js";
import { stateName } from "../../protocol/state-names.js";

/** The driver named on the command line, launched before parsing so its flags can be parsed. */
export interface PreparedDriver {
  handle: DriverHandle;
  flags: CreateFlag[];
}

/** create's own long options; a driver flag may not reuse them. */
export const CREATE_OWN_OPTIONS: readonly string[] = ["driver", "config", "help", "json", "lock-timeout", "timeout"];

export function createCommand(ctx: () => CliContext, prepared: PreparedDriver | undefined): Command {
  const cmd = new Command("create")
    .description("create a machine with a driver (add --driver <name> --help for its flags)")
    .argument("<machine>", "the new machine's name")
    .addOption(
      new Option("--driver <name>", "the driver that creates and runs the machine, e.g. fake").makeOptionMandatory(),
    )
    .option("--config <json>", `driver config fields to start from, before the flags, as a JSON object`)
    .option("--json", "print what was done and the machine's state as JSON (no progress lines)")
    .addOption(timeoutOption("change"));
  if (prepared === undefined) {
    cmd.addHelpText(
      "after",
      "\nDriver flags: add --driver <name> to see that driver's create flags (driverplug drivers lists the drivers).",
    );
  }
  const driverFlags =
    prepared &&
    driverFlagOptions(
      prepared.handle.driver,
      prepared.flags,
      CREATE_OWN_OPTIONS,
      `Driver flags (${prepared.handle.driver}):`,
    );
  for (const option of driverFlags?.options ?? []) cmd.addOption(option);
  cmd.action(async (machine: string, opts: Record<string, unknown>) => {
    const c = ctx();
    const name = checkMachineName(machine);
    if (prepared === undefined || prepared.handle.driver !== opts.driver) {
      // run-cli prepares the first --driver; commander keeps the last.
      throw new CliError("create takes --driver once; give only the driver you want", EXIT_USAGE);
    }
    const base =
      opts.config === undefined
        ? {}
        : parseJsonObjectArg(String(opts.config), "--config", exampleConfig(prepared.flags), prepared.handle.driver);
    await createMachine(c, name, prepared.handle, base, driverFlags!.collect(opts, c.io.env), {
      json: opts.json === true,
      timeoutMs: Number(opts.timeout) * 1000,
    });
  });
  return cmd;
}

/** A --config example from the driver's own flags ("cpus" with default 2 -> {"cpus": 2}), not another driver's. */
export function exampleConfig(flags: readonly CreateFlag[]): string {
  for (const flag of flags) {
    const kind = flag.defaultValue?.kind;
    if (kind === undefined || kind.$case === "stringListValue") continue;
    const field = flag.name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    const value = kind.$case === "intValue" ? Number(kind.value) : kind.value;
    return JSON.stringify({ [field]: value }).replace(/:/, ": ");
  }
  return '{"field": "value"}';
}

async function createMachine(
  ctx: CliContext,
  name: string,
  driver: DriverHandle,
  base: Record<string, unknown>,
  values: Record<string, FlagValue>,
  { json, timeoutMs }: { json: boolean; timeoutMs: number },
): Promise<void> {
  const { store, io } = ctx;
  const lock = await lockMachine(store, name, {
    timeoutMs: ctx.lockTimeoutMs,
    command: ctx.commandLine,
    signal: ctx.signal,
  });
  // The driver's time counts from here (the lock may have been a wait of its own).
  const deadline = new CommandDeadline(timeoutMs);
  // A lock lost while held stops the create (see machine-lock.ts).
  const signal = deadline.signal(AbortSignal.any([ctx.signal, lock.lost]));
  const call = { signal, deadline: deadline.date };
  const wait = ctx.waitNotice(timeoutMs);
  let created = false;
  try {
    const storePath = await store.createDir(name);
    try {
      const client = driver.client;
      await client.setConfig({ configJson: encodeConfig({ ...base, machineName: name, storePath }) }, call);
      // SetConfigFromFlags is optional for a driver that takes no flags.
      const applied = await optionalCall(client.setConfigFromFlags({ values }, call));
      if (applied === unimplemented && Object.keys(values).length > 0)
        throw new CliError(
          `driver ${JSON.stringify(driver.driver)} declares create flags but does not implement SetConfigFromFlags to take them`,
        );
      // PreCreateCheck is optional: a driver without it has nothing to check.
      await optionalCall(client.preCreateCheck({}, call));
      if (!json)
        io.stderr.write(`Creating machine ${JSON.stringify(name)} with driver ${JSON.stringify(driver.driver)}...\n`);
      const view = json ? silentProgress : progressView(io.stderr);
      wait.writeThrough((line) => view.interject(line));
      try {
        for await (const event of client.create({}, call)) {
          wait.heard();
          if (event.progress) view.show(event.progress);
        }
      } finally {
        view.done();
      }
      const config = decodeConfig((await client.getConfig({}, call)).configJson, driver.driver);
      lock.assertHeld();
      await store.write(name, { driver: driver.driver, config });
      created = true;
      if (json) {
        const { state } = await client.getState({}, call);
        printJson(io, { machine: name, driver: driver.driver, action: "create", state: stateName(state), storePath });
      } else println(io, `Machine ${JSON.stringify(name)} created (driver ${driver.driver}, store ${storePath}).`);
    } finally {
      wait.stop();
      if (!created) {
        // The driver may still be cleaning up a cancelled Create in the directory: stop it first.
        await driver.close();
        // With the lock lost, the directory may be another command's by now.
        if (!lock.lost.aborted) await store.removeDir(name);
      }
    }
  } catch (err) {
    lock.assertHeld();
    throw timeoutFailure(err, deadline, { driver: driver.driver, machine: name }) ?? err;
  } finally {
    await lock.release();
  }
}
