// The libvirt driver (one instance per machine over one connection) answers
// GetMachineStates on qemu:///session: machines whose domain was never
// defined are NONE, as their own GetState says, and a bad config is an error
// of its entry only. Nothing is defined or booted.
import { promises as fs } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Capability, State } from "../../generated/driverplug/driver/v1/driver.js";
import { Code, launch, silentLogger, type PluginHandle } from "../../src/host/index.js";
import { requireVmTools, testGuest } from "../guest/test-guest.js";
import { ensureLibvirtDaemon } from "./libvirt-daemon.js";

let guest: string;
let root: string;
let plugin: PluginHandle | undefined;

beforeAll(async () => {
  requireVmTools();
  guest = testGuest().dir;
  await ensureLibvirtDaemon();
  root = await mkdtemp(join(tmpdir(), "dpl-"));
  await fs.mkdir(join(root, "run"), { mode: 0o700 });
}, 600_000);

afterAll(async () => {
  await plugin?.close();
  await rm(root, { recursive: true, force: true });
}, 120_000);

describe("the libvirt driver answers GetMachineStates", () => {
  it("answers machines with no domain as their own GetState does, and a bad config as its entry's error", async () => {
    plugin = await launch("libvirt", { socketBaseDir: join(root, "run"), logger: silentLogger });
    const p = plugin;
    expect((await p.client.getInfo({})).capabilities).toEqual(
      expect.arrayContaining([Capability.CAPABILITY_MACHINE_INSTANCES, Capability.CAPABILITY_MACHINE_STATES]),
    );
    const configJson = async (machineName: string) => {
      const storePath = join(root, "s", machineName);
      await fs.mkdir(storePath, { recursive: true });
      return Buffer.from(JSON.stringify({ machineName, storePath, uri: "qemu:///session", bundlePath: guest }));
    };
    const { machines } = await p.client.getMachineStates({
      machines: [
        { machine: "l1", configJson: await configJson("l1") },
        { machine: "l2", configJson: Buffer.from("not json") },
        { machine: "l3", configJson: await configJson("l3") },
      ],
    });
    expect(machines.map((m) => [m.machine, m.state, m.ip, m.error?.code])).toEqual([
      ["l1", State.STATE_NONE_UNSPECIFIED, "", undefined],
      ["l2", State.STATE_NONE_UNSPECIFIED, "", Code.INVALID_ARGUMENT],
      ["l3", State.STATE_NONE_UNSPECIFIED, "", undefined],
    ]);
    for (const m of ["l1", "l3"]) expect((await p.forMachine(m).getState({})).state).toBe(State.STATE_NONE_UNSPECIFIED);
  });
});
