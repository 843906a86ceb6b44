// `driverplug plugins`: the warm plugins left running for the next command
// (driver, pid, socket, about how long until their idle exit), and
// `driverplug plugins stop [driver]` to end them now. Only records that pass
// reattach()'s checks are shown or stopped: a stale or forged record is
// removed (when its lock is free) and its pid never signalled.
import { Command } from "commander";
import type { CliContext } from "../cli-context.js";
import { printJson, println } from "../cli-context.js";
import { reattach } from "../../host/reattach.js";
import { assertPluginName } from "../../host/find-plugin.js";
import { CliError, EXIT_USAGE } from "../cli-error.js";
import { renderTable } from "../table.js";
import {
  liveRecord,
  lockRecord,
  readRecord,
  recordedDrivers,
  recordUsedAt,
  removeRecord,
  WARM_ENV,
  type WarmRecord,
} from "../warm-plugins.js";

export interface WarmPluginRow {
  driver: string;
  pid: number;
  socket: string;
  /** Seconds until the idle exit if nothing uses it meanwhile (about: counted from the last command's end). */
  idleLeftS: number;
  idleS: number;
  startedAt: string;
}

/** The drivers' records that pass the checks; failing ones are removed when nobody holds their lock. */
async function liveRecords(c: CliContext, drivers: readonly string[]): Promise<WarmRecord[]> {
  const out: WarmRecord[] = [];
  for (const driver of drivers) {
    const record = await readRecord(c.store, driver, false);
    if (!record) continue;
    if (await liveRecord(record)) {
      out.push(record);
      continue;
    }
    const lock = await lockRecord(c.store, driver, 0).catch(() => undefined);
    if (!lock) continue;
    try {
      // Read again under the lock: a command may have just written a fresh one.
      const again = await readRecord(c.store, driver);
      if (again && !(await liveRecord(again))) await removeRecord(c.store, driver);
    } finally {
      await lock.release();
    }
  }
  return out;
}

async function row(c: CliContext, r: WarmRecord): Promise<WarmPluginRow> {
  const usedAt = (await recordUsedAt(c.store, r.reattach.driver)) ?? Date.parse(r.startedAt);
  const leftMs = Math.max(0, r.idleMs - (Date.now() - usedAt));
  return {
    driver: r.reattach.driver,
    pid: r.reattach.pid,
    socket: r.reattach.address,
    idleLeftS: Math.ceil(leftMs / 1000),
    idleS: r.idleMs / 1000,
    startedAt: r.startedAt,
  };
}

function driverArg(driver: string | undefined): string[] | undefined {
  if (driver === undefined) return undefined;
  try {
    assertPluginName(driver);
  } catch (err) {
    throw new CliError((err as Error).message, EXIT_USAGE, { cause: err });
  }
  return [driver];
}

export function pluginsCommand(ctx: () => CliContext): Command {
  const cmd = new Command("plugins")
    .description(`list the warm plugins: drivers' plugins left running for the next command (see --warm, ${WARM_ENV})`)
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const c = ctx();
      const rows = await Promise.all((await liveRecords(c, await recordedDrivers(c.store))).map((r) => row(c, r)));
      if (opts.json === true) return printJson(c.io, rows);
      if (rows.length === 0) return println(c.io, "No warm plugins.");
      println(
        c.io,
        renderTable(
          ["DRIVER", "PID", "IDLE EXIT IN", "SOCKET"],
          rows.map((r) => [r.driver, String(r.pid), `about ${r.idleLeftS} s`, r.socket]),
        ),
      );
    });
  cmd
    .command("stop")
    .description("stop the warm plugins now (all, or the given driver's)")
    .argument("[driver]", "only this driver's warm plugin, e.g. fake")
    .option("--json", "print JSON")
    .action(async (driver: string | undefined, own: { json?: boolean }, self: Command) => {
      const c = ctx();
      // `plugins stop --json` and `plugins --json stop` alike: the parent parses --json first.
      const opts = { json: own.json === true || (self.parent?.opts() as { json?: boolean }).json === true };
      const drivers = driverArg(driver) ?? (await recordedDrivers(c.store));
      const stopped: { driver: string; pid: number }[] = [];
      for (const name of drivers) {
        const lock = await lockRecord(c.store, name, c.lockTimeoutMs);
        try {
          const record = await readRecord(c.store, name);
          if (!record) continue;
          // reattach() checks the record first: a stale or forged one fails here, and nothing is signalled.
          const handle = await reattach(record.reattach).catch(() => undefined);
          await removeRecord(c.store, name);
          if (!handle) continue;
          await handle.close();
          stopped.push({ driver: name, pid: record.reattach.pid });
        } finally {
          await lock.release();
        }
      }
      if (opts.json === true) return printJson(c.io, { stopped });
      if (stopped.length === 0)
        return println(c.io, driver === undefined ? "No warm plugins." : `No warm plugin of driver ${driver}.`);
      for (const s of stopped) println(c.io, `Stopped the warm plugin of driver ${s.driver} (pid ${s.pid}).`);
    });
  return cmd;
}
