// `driverplug rm <machine>`: the driver removes the machine, then its
// directory goes from the store. A running machine is refused unless --force
// (which kills it first). A directory left by an interrupted create, with no
// config.json, is simply deleted; a corrupted config.json is never deleted.
import { Code } from "../../protocol/status.js";
import { Command } from "commander";
import type { CliContext } from "../cli-context.js";
import { printJson, println } from "../cli-context.js";
import { CliError, EXIT_NOT_FOUND, EXIT_PRECONDITION } from "../cli-error.js";
import { timeoutOption } from "../command-timeout.js";
import { ClientError } from "../../host/client-error.js";
import { printable } from "../../host/printable-text.js";
import { lockMachine } from "../machine-lock.js";
import { checkMachineName } from "../machine-name.js";
import { withMachine } from "../machine-session.js";

export function rmCommand(ctx: () => CliContext): Command {
  return new Command("rm")
    .description("remove a machine and everything it owns")
    .argument("<machine>", "the machine's name")
    .option("-f, --force", "kill the machine first if it is running")
    .option("--json", "print what was done as JSON")
    .addOption(timeoutOption("change"))
    .action(async (machine: string, opts: { force?: boolean; json?: boolean; timeout: number }) => {
      const c = ctx();
      const name = checkMachineName(machine);
      if (!(await c.store.hasConfig(name))) {
        if (!(await c.store.dirExists(name)))
          throw new CliError(
            `no machine named ${JSON.stringify(name)} in ${c.store.machinesDir}: "driverplug ls" lists the machines`,
            EXIT_NOT_FOUND,
          );
        await removeLeftover(c, name, opts.json === true);
        return;
      }
      await withMachine(c, name, { mutating: true, timeoutMs: opts.timeout * 1000 }, async (m) => {
        if (opts.force === true) await m.client.kill({}, m.call);
        try {
          await m.client.remove({}, m.call);
        } catch (err) {
          if (err instanceof ClientError && err.code === Code.FAILED_PRECONDITION) {
            // The driver's message names the machine already (and --json has it in "machine").
            throw new CliError(`Remove failed (FAILED_PRECONDITION): ${printable(err.details)}`, EXIT_PRECONDITION, {
              hint: `run "driverplug stop ${name}", then rm again, or "driverplug rm --force ${name}" to kill it and remove it`,
              code: err.codeName,
              cause: err,
            });
          }
          throw err;
        }
        // The plugin keeps files open in the directory until it stops.
        await m.driver.close();
        await c.store.removeDir(name);
      });
      if (opts.json === true)
        printJson(c.io, { machine: name, action: "rm", removed: true, killed: opts.force === true });
      else println(c.io, `Machine ${JSON.stringify(name)} removed.`);
    });
}

/** A directory with no config.json: only a create that never finished leaves one. */
async function removeLeftover(c: CliContext, name: string, json: boolean): Promise<void> {
  const lock = await lockMachine(c.store, name, {
    timeoutMs: c.lockTimeoutMs,
    command: c.commandLine,
    signal: c.signal,
  });
  try {
    if (await c.store.hasConfig(name))
      throw new CliError(
        `machine ${JSON.stringify(name)} was just created by another command: run "driverplug rm ${name}" again`,
        EXIT_PRECONDITION,
      );
    await c.store.removeDir(name);
  } finally {
    await lock.release();
  }
  if (json) printJson(c.io, { machine: name, action: "rm", removed: true, unfinished: true });
  else println(c.io, `Removed the unfinished machine directory ${c.store.machineDir(name)}.`);
}
