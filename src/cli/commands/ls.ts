// `driverplug ls`: every machine in the store with its driver, state and IP.
// States are fetched in parallel, each machine with its own timeout, so one
// stuck driver shows as Timeout instead of stalling the list; the machines of
// a driver whose plugin serves many machines share one plugin process, and
// when it also answers GetMachineStates, one call (machine-state-batch.ts).
import { Command, InvalidArgumentError } from "commander";
import { State } from "../../../generated/driverplug/driver/v1/driver.js";
import type { CliContext } from "../cli-context.js";
import { printJson, println } from "../cli-context.js";
import { LS_TIMEOUT_S } from "../command-timeout.js";
import { describeFailure, failureText } from "../error-message.js";
import { isMachineLocked } from "../machine-lock.js";
import { batchRows, type StoredMachine } from "../machine-state-batch.js";
import { withMachine } from "../machine-session.js";
import { TurnTimeout } from "../plugin-pool.js";
import { stateName } from "../../protocol/state-names.js";
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
    .option("--timeout <seconds>", "how long to wait for each machine's driver", parseSeconds, LS_TIMEOUT_S)
    .action(async (opts: { json?: boolean; timeout: number }) => {
      const c = ctx();
      const names = await c.store.list();
      const rows = await listRows(c, names, opts.timeout * 1000);
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

/** The rows in the store's order: per driver one batch when its plugin can, else machine by machine. */
async function listRows(c: CliContext, names: readonly string[], timeoutMs: number): Promise<MachineRow[]> {
  const rows: MachineRow[] = new Array(names.length);
  const byDriver = new Map<string, (StoredMachine & { at: number })[]>();
  await Promise.all(
    names.map(async (name, at) => {
      // Machines without a readable config (or none yet) get machineRow()'s rows: Creating, or the read's error.
      const record = await c.store.read(name).catch(() => undefined);
      // A machine another command holds (a Start in progress) is asked machine by machine: its
      // SetConfig in a shared (warm) plugin would wait behind that command; alone it gets a plugin
      // of its own, as `status` does, and its true state.
      if (!record || (await isMachineLocked(c.store, name))) rows[at] = await machineRow(c, name, timeoutMs);
      else {
        const group = byDriver.get(record.driver) ?? [];
        group.push({ name, record, at });
        byDriver.set(record.driver, group);
      }
    }),
  );
  await Promise.all(
    [...byDriver].map(async ([driver, machines]) => {
      const batched = await batchRows(c, driver, machines, timeoutMs);
      const each = batched ?? (await Promise.all(machines.map(({ name }) => machineRow(c, name, timeoutMs))));
      for (const [i, { at }] of machines.entries()) rows[at] = each[i]!;
    }),
  );
  return rows;
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
  let driver = "-";
  try {
    // Read up front so a driver that never starts still has its name shown.
    driver = (await c.store.read(name)).driver;
    return await withMachine(c, name, { mutating: false, timeoutMs }, async (m) => {
      const { state } = await m.client.getState({}, m.call);
      const ip = state === State.STATE_RUNNING ? (await m.client.getIp({}, m.call).catch(() => ({ ip: "-" }))).ip : "-";
      return { name, driver, state: stateName(state), ip };
    });
  } catch (err) {
    if (c.signal.aborted) throw err;
    // withMachine says which call went unanswered; the table's column is short.
    const timedOut = err instanceof TurnTimeout ? err : err instanceof Error ? err.cause : undefined;
    if (timedOut instanceof TurnTimeout)
      return { name, driver, state: stateName(State.STATE_TIMEOUT), ip: "-", error: timedOut.message };
    return {
      name,
      driver,
      state: stateName(State.STATE_ERROR),
      ip: "-",
      error: failureText(describeFailure(err, false)),
    };
  }
}
