// `ls` rows of one driver's machines from GetMachineStates: one call per
// driver (split by the protocol's bounds) instead of SetConfig, GetState and
// GetIP per machine, when the driver's one plugin serves all its machines and
// advertises CAPABILITY_MACHINE_STATES. Answers undefined when it does not, so
// `ls` takes the per-machine path for that driver. The rows are those the
// per-machine path gives: the same states, "-" for no IP, Timeout for a
// machine not answered in time, and the driver's errors escaped.
import { Capability, State, type MachineStateEntry } from "../../generated/driverplug/driver/v1/driver.js";
import { ClientError } from "../host/client-error.js";
import { MAX_MACHINE_STATES_PER_CALL, MAX_MACHINE_STATES_REQUEST_BYTES } from "../protocol/machine-states.js";
import { Code, toCode } from "../protocol/status.js";
import { stateName } from "../protocol/state-names.js";
import type { CliContext } from "./cli-context.js";
import { describeFailure, failureText } from "./error-message.js";
import type { MachineRecord } from "./machine-store.js";
import { encodeConfig } from "./machine-session.js";
import { TurnTimeout } from "./plugin-pool.js";

export interface StateRow {
  name: string;
  driver: string;
  state: string;
  ip: string;
  error?: string;
}

export interface StoredMachine {
  name: string;
  record: MachineRecord;
}

const PATH = "/driverplug.driver.v1.DriverService/GetMachineStates";
/** An entry's error message as the plugin may send it (8 KiB), and no more. */
const MAX_ERROR_CHARS = 8 * 1024;

/** The rows of `machines` (all of `driver`), in their order; undefined when the driver cannot answer them in one call. */
export async function batchRows(
  c: CliContext,
  driver: string,
  machines: readonly StoredMachine[],
  timeoutMs: number,
): Promise<StateRow[] | undefined> {
  try {
    return await c.plugins.withSharedPlugin(driver, { signal: c.signal, timeoutMs }, async (plugin, turn) => {
      const call = { signal: turn.signal, ...(turn.deadline ? { deadline: turn.deadline } : {}) };
      const info = await plugin.client.getInfo({}, call);
      if (!info.capabilities.includes(Capability.CAPABILITY_MACHINE_STATES)) return undefined;
      const chunks = split(machines.map((m) => ({ machine: m.name, configJson: encodeConfig(m.record.config) })));
      const answered = await Promise.all(
        chunks.map(async (chunk) => {
          const { machines: entries } = await plugin.client.getMachineStates({ machines: chunk }, call);
          return chunk.map((asked, i) => {
            const entry = entries[i];
            // The plugin's text is never trusted to name the row: a misordered answer is the driver's fault.
            return entry?.machine === asked.machine && entries.length === chunk.length
              ? entry
              : misanswered(asked.machine, entries.length, chunk.length);
          });
        }),
      );
      return answered.flat().map((entry, i) => row(machines[i]!.name, driver, entry, timeoutMs));
    });
  } catch (err) {
    if (c.signal.aborted) throw err;
    // A plugin that advertised the call but lacks it: the per-machine path still works.
    if (err instanceof ClientError && err.code === Code.UNIMPLEMENTED && err.path === PATH) return undefined;
    const timedOut = err instanceof TurnTimeout || (err instanceof ClientError && err.code === Code.DEADLINE_EXCEEDED);
    return machines.map(({ name }) =>
      timedOut
        ? timeoutRow(name, driver, timeoutMs)
        : {
            name,
            driver,
            state: stateName(State.STATE_ERROR),
            ip: "-",
            error: failureText(describeFailure(err, false)),
          },
    );
  }
}

function row(name: string, driver: string, entry: MachineStateEntry, timeoutMs: number): StateRow {
  const error = entry.error;
  if (error === undefined) {
    const ip = entry.state === State.STATE_RUNNING && entry.ip !== "" ? entry.ip : "-";
    return { name, driver, state: stateName(entry.state), ip };
  }
  const code = toCode(error.code);
  if (code === Code.DEADLINE_EXCEEDED) return timeoutRow(name, driver, timeoutMs);
  // Bounded as a status message is: the plugin's text, however long, is one table cell.
  const failure = new ClientError(PATH, code, error.message.slice(0, MAX_ERROR_CHARS));
  return {
    name,
    driver,
    state: stateName(State.STATE_ERROR),
    ip: "-",
    error: failureText(describeFailure(failure, false)),
  };
}

function timeoutRow(name: string, driver: string, timeoutMs: number): StateRow {
  return { name, driver, state: stateName(State.STATE_TIMEOUT), ip: "-", error: new TurnTimeout(timeoutMs).message };
}

function misanswered(machine: string, got: number, asked: number): MachineStateEntry {
  return {
    machine,
    state: State.STATE_NONE_UNSPECIFIED,
    ip: "",
    error: {
      code: Code.INTERNAL,
      message: `the driver answered ${got} entries for ${asked} machines, or in another order; report this to the driver's author`,
    },
  };
}

/** Calls of at most MAX_MACHINE_STATES_PER_CALL entries and MAX_MACHINE_STATES_REQUEST_BYTES of configs. */
function split<T extends { configJson: Buffer }>(entries: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = entry.configJson.length;
    if (
      current.length > 0 &&
      (current.length >= MAX_MACHINE_STATES_PER_CALL || bytes + size > MAX_MACHINE_STATES_REQUEST_BYTES)
    ) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
