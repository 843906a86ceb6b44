// `driverplug ls`: every machine in the store with its driver, state and IP.
// States are fetched in parallel, each machine with its own timeout, so one
// stuck driver shows as Timeout instead of stalling the list.
import { Command, InvalidArgumentError } from "commander";
import { State } from "../../../generated/driverplug/driver/v1/driver.js";
import type { CliContext } from "../cli-context.js";
import { printJson, println } from "../cli-context.js";
import { describeFailure } from "../error-message.js";
import { LaunchError } from "../../host/launch-error.js";
import { isMachineLocked } from "../machine-lock.js";
import { withMachine } from "../machine-session.js";
import { stateName } from "../state-names.js";
import { renderTable } from "../table.js";

export interface MachineRow {
  name: string;
  driver: string;
  state: string;
  ip: string;
  /** Why the state could not be read, when it could not. */
  error?: string;
}

export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError("Expected a number of seconds, e.g. 2.5.");
  return n;
}

export function lsCommand(ctx: () => CliContext): Command {
  return new Command("ls")
    .description("list the machines with their driver, state and IP")
    .option("--json", "print JSON")
    .option("--timeout <seconds>", "how long to wait for each machine's driver", parseSeconds, 10)
    .action(async (opts: { json?: boolean; timeout: number }) => {
      const c = ctx();
      const names = await c.store.list();
      const rows = await Promise.all(names.map((name) => machineRow(c, name, opts.timeout * 1000)));
      if (opts.json === true) return printJson(c.io, rows);
      if (rows.length === 0)
        return println(
          c.io,
          `No machines in ${c.store.machinesDir}; "driverplug create --driver <driver> <name>" makes one ("driverplug drivers" lists the drivers).`,
        );
      // The ERROR column only when some machine has one.
      const withErrors = rows.some((r) => r.error !== undefined);
      const headers = ["NAME", "DRIVER", "STATE", "IP", ...(withErrors ? ["ERROR"] : [])];
      println(
        c.io,
        renderTable(
          headers,
          rows.map((r) => [r.name, r.driver, r.state, r.ip, ...(withErrors ? [r.error ?? ""] : [])]),
        ),
      );
    });
}

async function machineRow(c: CliContext, name: string, timeoutMs: number): Promise<MachineRow> {
  if (!(await c.store.hasConfig(name))) {
    // A create holds the lock until config.json is written.
    return (await isMachineLocked(c.store, name))
      ? { name, driver: "-", state: "Creating", ip: "-" }
      : {
          name,
          driver: "-",
          state: "Error",
          ip: "-",
          error: `no config.json (interrupted create?): driverplug rm ${name}`,
        };
  }
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([c.signal, timeout]);
  let driver = "-";
  try {
    // Read up front so a driver that never starts still has its name shown.
    driver = (await c.store.read(name)).driver;
    return await withMachine(
      c,
      name,
      { mutating: false, signal, startTimeoutMs: Math.max(1, timeoutMs) },
      async (m) => {
        const { state } = await m.client.getState({}, { signal });
        const ip =
          state === State.STATE_RUNNING ? (await m.client.getIp({}, { signal }).catch(() => ({ ip: "-" }))).ip : "-";
        return { name, driver, state: stateName(state), ip };
      },
    );
  } catch (err) {
    if (c.signal.aborted) throw err;
    const launchTimedOut = err instanceof LaunchError && err.reason === "timeout";
    if (timeout.aborted || launchTimedOut)
      return {
        name,
        driver,
        state: stateName(State.STATE_TIMEOUT),
        ip: "-",
        error: `no answer within ${timeoutMs / 1000} s`,
      };
    return { name, driver, state: stateName(State.STATE_ERROR), ip: "-", error: describeFailure(err, false).message };
  }
}
