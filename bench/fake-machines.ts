// Many fake machines in a driverplug store, written straight to disk (what
// `driverplug create --driver fake` leaves, without a plugin per machine):
// `ls` of 500 machines needs 500 machines made in well under a second.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CONFIG_DEFAULTS } from "../src/drivers/fake/config.js";

export type FakeState = "running" | "stopped";

export interface FakeMachineSpec {
  name: string;
  state: FakeState;
  /** The store's driver name; "fake" unless a test serves the fake driver under another name. */
  driver?: string;
}

/** Writes `<store>/machines/<name>/config.json` and the fake driver's own record for each machine. */
export async function writeFakeMachines(store: string, machines: readonly FakeMachineSpec[]): Promise<void> {
  await mkdir(join(store, "machines"), { recursive: true, mode: 0o700 });
  await Promise.all(
    machines.map(async ({ name, state, driver = "fake" }) => {
      const storePath = join(store, "machines", name);
      await mkdir(storePath, { mode: 0o700 });
      const config = { ...CONFIG_DEFAULTS, machineName: name, storePath };
      await writeFile(join(storePath, "config.json"), JSON.stringify({ version: 1, driver, config }), { mode: 0o600 });
      await writeFile(join(storePath, "fake-machine.json"), JSON.stringify({ name, state }), { mode: 0o600 });
    }),
  );
}

/** `count` machines named m001..., every third one running. */
export function fakeFleet(count: number, prefix = "m"): FakeMachineSpec[] {
  const width = String(count).length;
  return Array.from({ length: count }, (_, i) => ({
    name: `${prefix}${String(i + 1).padStart(width, "0")}`,
    state: i % 3 === 0 ? ("running" as const) : ("stopped" as const),
  }));
}
