// GetMachineStates against a real fake plugin serving machine instances: each
// entry answers what SetConfig, GetState and GetIP naming that machine
// answer, errors stay with their entry, the per-call bounds are refused with
// a message saying what to do, instances holding a config are never freed to
// make room, and an entry stuck behind its machine's long Create is answered
// DEADLINE_EXCEEDED before the call's deadline while the rest are answered.
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Capability, State } from "../../generated/driverplug/driver/v1/driver.js";
import {
  ClientError,
  Code,
  launch,
  MAX_MACHINE_STATE_CONFIG_BYTES,
  MAX_MACHINE_STATES_PER_CALL,
  silentLogger,
  type HostLogRecord,
  type PluginHandle,
} from "../../src/host/index.js";
import { makeHostTestEnv, type HostTestEnv } from "./host-test-env.js";

const BOUNDED = new URL("../fixtures/plugins/bounded-fake-driver.mjs", import.meta.url).pathname;

let env: HostTestEnv;
let plugin: PluginHandle | undefined;
beforeEach(async () => {
  env = await makeHostTestEnv();
});
afterEach(async () => {
  await plugin?.close();
  plugin = undefined;
  await env.cleanup();
});

async function configFor(machine: string, stepDelayMs = 0): Promise<Buffer> {
  const storePath = join(env.scratch, machine);
  await fs.mkdir(storePath, { recursive: true });
  return Buffer.from(JSON.stringify({ machineName: machine, storePath, stepDelayMs }));
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) void _;
}

/** Makes `machine` through its own instance, leaving it stopped or running. */
async function makeMachine(p: PluginHandle, machine: string, running: boolean): Promise<void> {
  const client = p.forMachine(machine);
  await client.setConfig({ configJson: await configFor(machine) });
  await drain(client.create({}));
  if (running) await drain(client.start({}));
}

describe("GetMachineStates on a plugin serving machine instances", () => {
  it("answers each machine as its own SetConfig, GetState and GetIP do, in order, errors per entry", async () => {
    plugin = await launch("fake", { socketBaseDir: env.base, logger: silentLogger });
    const p = plugin;
    expect((await p.client.getInfo({})).capabilities).toEqual(
      expect.arrayContaining([Capability.CAPABILITY_MACHINE_INSTANCES, Capability.CAPABILITY_MACHINE_STATES]),
    );
    await makeMachine(p, "up", true);
    await makeMachine(p, "down", false);
    const asked = [
      { machine: "up", configJson: await configFor("up") },
      { machine: "never-made", configJson: await configFor("never-made") },
      { machine: "bad-config", configJson: Buffer.from("{not json") },
      { machine: "has space", configJson: await configFor("x") },
      { machine: "down", configJson: await configFor("down") },
      { machine: "up", configJson: await configFor("up") },
    ];
    const { machines } = await p.client.getMachineStates({ machines: asked });
    expect(machines.map((m) => m.machine)).toEqual(asked.map((a) => a.machine));
    expect(machines[0]).toEqual({
      machine: "up",
      state: State.STATE_RUNNING,
      ip: (await p.forMachine("up").getIp({})).ip,
      error: undefined,
    });
    expect(machines[1]).toMatchObject({ state: State.STATE_NONE_UNSPECIFIED, ip: "", error: undefined });
    expect(machines[2]!.error).toMatchObject({ code: Code.INVALID_ARGUMENT });
    expect(machines[3]!.error).toMatchObject({
      code: Code.INVALID_ARGUMENT,
      message: expect.stringMatching(/"has space" names no machine: .*printable ASCII without spaces/),
    });
    expect(machines[4]).toEqual({ machine: "down", state: State.STATE_STOPPED, ip: "", error: undefined });
    expect(machines[5]!.error).toMatchObject({
      code: Code.INVALID_ARGUMENT,
      message: 'machine "up" is named more than once in this call',
    });
    // The same states the single calls give, machine by machine.
    for (const m of ["up", "down", "never-made"]) {
      const single = (await p.forMachine(m).getState({})).state;
      expect(machines.find((e) => e.machine === m)!.state, m).toBe(single);
    }
  });

  it("refuses more machines than one call may carry, and a config over an entry's limit, saying what to do", async () => {
    plugin = await launch("fake", { socketBaseDir: env.base, logger: silentLogger });
    const configJson = Buffer.from("{}");
    const tooMany = Array.from({ length: MAX_MACHINE_STATES_PER_CALL + 1 }, (_, i) => ({
      machine: `m${i}`,
      configJson,
    }));
    const refused = await plugin.client.getMachineStates({ machines: tooMany }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ClientError);
    expect(refused).toMatchObject({
      codeName: "INVALID_ARGUMENT",
      details: `GetMachineStates names ${MAX_MACHINE_STATES_PER_CALL + 1} machines; at most ${MAX_MACHINE_STATES_PER_CALL} per call: split the list into several calls`,
    });
    const big = Buffer.alloc(MAX_MACHINE_STATE_CONFIG_BYTES + 1, 0x20);
    const { machines } = await plugin.client.getMachineStates({
      machines: [
        { machine: "big", configJson: big },
        { machine: "fine", configJson: await configFor("fine") },
      ],
    });
    expect(machines[0]!.error).toMatchObject({
      code: Code.INVALID_ARGUMENT,
      message: expect.stringMatching(/config of machine "big" is 1048577 bytes, over the 1048576-byte limit/),
    });
    expect(machines[1]).toMatchObject({ machine: "fine", state: State.STATE_NONE_UNSPECIFIED, error: undefined });
  });

  it("never frees an instance holding a config to make room: past the cap the new machine's entry is RESOURCE_EXHAUSTED", async () => {
    const records: HostLogRecord[] = [];
    plugin = await launch("boundedfake", {
      executable: BOUNDED,
      socketBaseDir: env.base,
      env: { FIXTURE_SERVE_OPTIONS: JSON.stringify({ maxMachines: 2, machineIdleMs: 600_000 }) },
      logger: { log: (r) => void records.push(r) },
    });
    const p = plugin;
    await makeMachine(p, "a", true);
    const { machines } = await p.client.getMachineStates({
      machines: [
        { machine: "a", configJson: await configFor("a") },
        { machine: "b", configJson: await configFor("b") },
        { machine: "c", configJson: await configFor("c") },
      ],
    });
    expect(machines.map((m) => [m.machine, m.state, m.error?.code])).toEqual([
      ["a", State.STATE_RUNNING, undefined],
      ["b", State.STATE_NONE_UNSPECIFIED, undefined],
      ["c", State.STATE_NONE_UNSPECIFIED, Code.RESOURCE_EXHAUSTED],
    ]);
    expect(machines[2]!.error!.message).toMatch(/already serves 2 machines \(its maxMachines\)/);
    expect(records.filter((r) => r.message === "machine instance freed")).toEqual([]);
    // a's instance still holds its config: its own calls need no SetConfig.
    expect((await p.forMachine("a").getMachineName({})).name).toBe("a");
  });

  it("answers a machine stuck behind its own long Create as DEADLINE_EXCEEDED, and the others, within the call's deadline", async () => {
    plugin = await launch("fake", { socketBaseDir: env.base, logger: silentLogger });
    const p = plugin;
    await makeMachine(p, "quick", true);
    const slow = p.forMachine("slow");
    await slow.setConfig({ configJson: await configFor("slow", 60_000) });
    const creating = drain(slow.create({})).catch((err: ClientError) => err.codeName);
    // The Create holds the slow machine's queue once another mutating call of it has to wait.
    for (;;) {
      const queued = await slow.setConfig({ configJson: await configFor("slow", 60_000) }, { timeoutMs: 1_000 }).then(
        () => false,
        (err: ClientError) => err.codeName === "DEADLINE_EXCEEDED",
      );
      if (queued) break;
    }
    const { machines } = await p.client.getMachineStates(
      {
        machines: [
          { machine: "slow", configJson: await configFor("slow", 60_000) },
          { machine: "quick", configJson: await configFor("quick") },
        ],
      },
      { timeoutMs: 8_000 },
    );
    expect(machines[0]!.error).toEqual({
      code: Code.DEADLINE_EXCEEDED,
      message: "no answer before the GetMachineStates call's deadline",
    });
    expect(machines[1]).toMatchObject({ machine: "quick", state: State.STATE_RUNNING, error: undefined });
    // The machine's own queue is intact: Kill ends the Create, and the machine answers again.
    await slow.kill({}).catch(() => undefined);
    expect(await creating).toBe("CANCELLED");
    const after = await p.client.getMachineStates({
      machines: [{ machine: "slow", configJson: await configFor("slow") }],
    });
    expect(after.machines[0]).toMatchObject({ state: State.STATE_NONE_UNSPECIFIED, error: undefined });
  });
});
