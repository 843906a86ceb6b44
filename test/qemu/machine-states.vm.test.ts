// The qemu driver is served with one instance per machine and so answers
// GetMachineStates: each machine as its own GetState, without booting
// anything (machines never created are NONE, a created one STOPPED), and
// `driverplug ls` lists a qemu machine through it.
import { promises as fs } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Capability, State } from "../../generated/driverplug/driver/v1/driver.js";
import { Code, launch, silentLogger, type PluginHandle } from "../../src/host/index.js";
import { expectOk, Sandbox } from "../cli/driverplug-process.js";
import { requireVmTools, testGuest } from "../guest/test-guest.js";

let guest: string;
let root: string;
let plugin: PluginHandle | undefined;
let box: Sandbox | undefined;

beforeAll(async () => {
  requireVmTools();
  guest = testGuest().dir;
  root = await mkdtemp(join(tmpdir(), "dpq-"));
  await fs.mkdir(join(root, "run"), { mode: 0o700 });
}, 600_000);

afterAll(async () => {
  await plugin?.close();
  if (box) {
    await box.run(["rm", "--force", "qs1"]).catch(() => undefined);
    await box.dispose();
  }
  await rm(root, { recursive: true, force: true });
}, 120_000);

describe("the qemu driver answers GetMachineStates", () => {
  it("answers machines never created as their own GetState does, and a bad config as its entry's error", async () => {
    plugin = await launch("qemu", { socketBaseDir: join(root, "run"), logger: silentLogger });
    const p = plugin;
    expect((await p.client.getInfo({})).capabilities).toEqual(
      expect.arrayContaining([Capability.CAPABILITY_MACHINE_INSTANCES, Capability.CAPABILITY_MACHINE_STATES]),
    );
    const configJson = async (machineName: string) => {
      const storePath = join(root, "s", machineName);
      await fs.mkdir(storePath, { recursive: true });
      return Buffer.from(JSON.stringify({ machineName, storePath, bundlePath: guest }));
    };
    const { machines } = await p.client.getMachineStates({
      machines: [
        { machine: "q1", configJson: await configJson("q1") },
        { machine: "q2", configJson: await configJson("q2") },
        { machine: "q3", configJson: Buffer.from('{"machineName": 3}') },
      ],
    });
    expect(machines.map((m) => [m.machine, m.state, m.ip, m.error?.code])).toEqual([
      ["q1", State.STATE_NONE_UNSPECIFIED, "", undefined],
      ["q2", State.STATE_NONE_UNSPECIFIED, "", undefined],
      ["q3", State.STATE_NONE_UNSPECIFIED, "", Code.INVALID_ARGUMENT],
    ]);
    for (const m of ["q1", "q2"]) expect((await p.forMachine(m).getState({})).state).toBe(State.STATE_NONE_UNSPECIFIED);
  });

  it("lists a created qemu machine through driverplug ls", async () => {
    box = await Sandbox.create();
    await expectOk(box, ["create", "--driver", "qemu", "--bundle", guest, "qs1"]);
    const rows = JSON.parse((await expectOk(box, ["ls", "--json"])).stdout) as unknown[];
    expect(rows).toEqual([{ name: "qs1", driver: "qemu", state: "Stopped", ip: "-" }]);
    await expectOk(box, ["rm", "qs1"]);
    expect(await box.pluginDirs()).toEqual([]);
  }, 300_000);
});
