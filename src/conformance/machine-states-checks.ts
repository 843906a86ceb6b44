// GetMachineStates: for a driver advertising CAPABILITY_MACHINE_STATES, the
// batch answers each machine as that machine's own GetState does (running,
// stopped, never created), in the request's order, and a machine it cannot
// answer (a name breaking the key's rules, a malformed config) is an error of
// that entry, never of the call.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Capability, State, type MachineStateEntry } from "../../generated/driverplug/driver/v1/driver.js";
import { Code, statusName } from "../protocol/status.js";
import { fail, type Check } from "./check.js";
import { expectOk, expectOkUnlessLeftOut, quote, stateName } from "./expectations.js";
import type { KitPlugin } from "./kit-plugin.js";

/** The entry's state or error, for messages. */
function describeEntry(entry: MachineStateEntry): string {
  return entry.error
    ? `error ${statusName(entry.error.code)}: ${quote(entry.error.message)}`
    : `state ${stateName(entry.state)}`;
}

/** Asks for `asked` in one call and checks every entry answers in order, each against its machine's own GetState. */
async function compare(
  p: KitPlugin,
  when: string,
  asked: { machine: string; configJson: Buffer }[],
): Promise<MachineStateEntry[]> {
  const { machines } = await expectOk(`GetMachineStates ${when}`, p.client.getMachineStates({ machines: asked }));
  if (machines.length !== asked.length || machines.some((m, i) => m.machine !== asked[i]!.machine))
    fail(
      `GetMachineStates ${when}: expected one entry per machine asked, in order (${asked.map((a) => quote(a.machine)).join(", ")}), got ${machines.map((m) => quote(m.machine)).join(", ")}`,
    );
  for (const entry of machines) {
    const own = p.handle.forMachine(entry.machine);
    const single = (await expectOk(`GetState of ${quote(entry.machine)} ${when}`, own.getState({}))).state;
    if (entry.error || entry.state !== single)
      fail(
        `GetMachineStates ${when}: expected the entry of ${quote(entry.machine)} to have state ${stateName(single)} (what its GetState answers), got ${describeEntry(entry)}`,
      );
    if (entry.state === State.STATE_RUNNING && entry.ip !== "") {
      const ip = await expectOkUnlessLeftOut(`GetIP of ${quote(entry.machine)} ${when}`, own.getIp({}));
      if (ip && ip.ip !== entry.ip)
        fail(
          `GetMachineStates ${when}: expected the IP of ${quote(entry.machine)} to be what its GetIP answers, ${quote(ip.ip)}, got ${quote(entry.ip)}`,
        );
    }
  }
  return machines;
}

export const machineStatesChecks: readonly Check[] = [
  {
    category: "GetMachineStates",
    name: "answers each machine as its GetState does, in order",
    needs: [Capability.CAPABILITY_MACHINE_STATES],
    async run(ctx) {
      if (!ctx.has(Capability.CAPABILITY_MACHINE_INSTANCES))
        fail(
          "GetInfo: expected CAPABILITY_MACHINE_STATES only together with CAPABILITY_MACHINE_INSTANCES (its entries are answered by machine instances), got it alone",
        );
      const p = await ctx.running();
      // A machine never created, in a store directory of its own.
      const none = `${ctx.machineName}-none`;
      const noneStore = join(ctx.storePath, "none");
      await mkdir(noneStore, { recursive: true, mode: 0o700 });
      const asked = () => [
        { machine: ctx.machineName, configJson: ctx.configJson() },
        {
          machine: none,
          configJson: Buffer.from(JSON.stringify({ ...ctx.config(), machineName: none, storePath: noneStore })),
        },
      ];
      const up = await compare(p, "of a running machine and one never created", asked());
      if (up[0]!.state !== State.STATE_RUNNING)
        fail(`GetMachineStates of a running machine: expected state RUNNING, got ${describeEntry(up[0]!)}`);
      await expectOk("Stop", p.client.stop({}));
      const down = await compare(p, "after Stop", asked());
      if (down[0]!.state !== State.STATE_STOPPED)
        fail(`GetMachineStates after Stop: expected state STOPPED, got ${describeEntry(down[0]!)}`);
    },
  },
  {
    category: "GetMachineStates",
    name: "a machine it cannot answer is an error of its entry, not of the call",
    needs: [Capability.CAPABILITY_MACHINE_STATES],
    async run(ctx) {
      const p = await ctx.created();
      const asked = [
        { machine: "has space", configJson: ctx.configJson() },
        { machine: ctx.machineName, configJson: ctx.configJson() },
        { machine: `${ctx.machineName}-bad`, configJson: Buffer.from("{not json") },
      ];
      const { machines } = await expectOk(
        "GetMachineStates with a machine name breaking the key's rules and a malformed config beside a good machine",
        p.client.getMachineStates({ machines: asked }),
      );
      if (machines.length !== asked.length)
        fail(`GetMachineStates: expected ${asked.length} entries, one per machine asked, got ${machines.length}`);
      for (const i of [0, 2]) {
        const entry = machines[i]!;
        if (entry.error?.code !== Code.INVALID_ARGUMENT)
          fail(
            `GetMachineStates: expected the entry of ${quote(asked[i]!.machine)} (${i === 0 ? "a name with a space" : "a config that is not JSON"}) to be error INVALID_ARGUMENT, got ${describeEntry(entry)}`,
          );
      }
      const good = machines[1]!;
      if (good.error || good.state !== State.STATE_STOPPED)
        fail(
          `GetMachineStates: expected the good machine beside them to have state STOPPED, got ${describeEntry(good)}`,
        );
    },
  },
];
