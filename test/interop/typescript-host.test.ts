// driverplug's own host and CLI drive a plugin written in Python
// (driverplug-driver-pyfake): the protocol does not depend on TypeScript on
// either side.
import { status } from "@grpc/grpc-js";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Capability, DriverServiceService, State } from "../../generated/driverplug/driver/v1/driver.js";
import { launch, silentLogger, type PluginHandle } from "../../src/host/index.js";
import { expectOk, Sandbox } from "../cli/driverplug-process.js";
import { preparePython, PYFAKE_PLUGIN } from "./toolchain.js";

const pluginDir = dirname(PYFAKE_PLUGIN);
let python: Promise<string> | undefined;
const cleanups: Array<() => Promise<void>> = [];

// In beforeEach: a missing tool fails each test with the install hint.
beforeEach(async () => {
  await (python ??= preparePython());
}, 120_000);

afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function first<T>(stream: AsyncIterable<T>): Promise<T> {
  for await (const item of stream) return item;
  throw new Error("the stream ended without an item");
}

describe("driverplug's TypeScript host x the Python plugin", () => {
  it("finds it in a plugin dir, runs a machine's lifecycle and closes it through Shutdown", async () => {
    const base = await mkdtemp(join(tmpdir(), "dp-"));
    const store = await mkdtemp(join(tmpdir(), "dp-store-"));
    let plugin: PluginHandle<typeof DriverServiceService> | undefined;
    cleanups.push(async () => {
      await plugin?.close();
      await rm(base, { recursive: true, force: true });
      await rm(store, { recursive: true, force: true });
    });
    plugin = await launch("pyfake", { pluginDirs: [pluginDir], socketBaseDir: base, logger: silentLogger });
    const { client } = plugin;
    expect(plugin.record.address.startsWith(`${plugin.record.privateDir}/pyfake-`)).toBe(true);
    expect((await client.getInfo({})).driverName).toBe("pyfake");

    await client.setConfig({ configJson: Buffer.from(JSON.stringify({ machineName: "py1", storePath: store })) });
    await expect(client.getIp({})).rejects.toMatchObject({ code: status.NOT_FOUND });
    const created = [];
    for await (const { progress } of client.create({})) created.push(progress?.percent);
    expect(created.at(-1)).toBe(100);
    await expect(first(client.create({}))).rejects.toMatchObject({ code: status.ALREADY_EXISTS });
    for await (const _ of client.start({}));
    expect((await client.getState({})).state).toBe(State.STATE_RUNNING);
    expect((await first(client.watchState({}))).state).toBe(State.STATE_RUNNING);
    expect((await client.getIp({})).ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    await client.stop({});
    await client.remove({});
    expect((await client.getState({})).state).toBe(State.STATE_NONE_UNSPECIFIED);

    await plugin.close();
    expect(plugin.exit?.code).toBe(0);
    expect(await readdir(base)).toEqual([]);
  });
});

describe("the driverplug command x the Python plugin", () => {
  it("creates, lists, stops and removes a machine with --driver pyfake", async () => {
    const box = await Sandbox.create();
    cleanups.push(() => box.dispose());
    const env = { DRIVERPLUG_PLUGIN_DIRS: pluginDir };
    const created = await expectOk(box, ["create", "--driver", "pyfake", "py1"], env);
    expect(created.stdout).toMatch(/created/i);
    const listed = JSON.parse((await expectOk(box, ["ls", "--json"], env)).stdout) as Array<{
      name: string;
      driver: string;
    }>;
    expect(listed).toEqual([expect.objectContaining({ name: "py1", driver: "pyfake" })]);
    await expectOk(box, ["start", "py1"], env);
    expect((await expectOk(box, ["status", "py1"], env)).stdout.trim()).toBe("Running");
    await expectOk(box, ["stop", "py1"], env);
    await expectOk(box, ["rm", "py1"], env);
    expect(await box.machines()).toEqual([]);
    expect(await box.pluginDirs()).toEqual([]);
  });
});

describe("the Python plugin's machine instances", () => {
  it("keeps one machine per driverplug-machine key, the default one for calls without it", async () => {
    const base = await mkdtemp(join(tmpdir(), "dp-"));
    const store = await mkdtemp(join(tmpdir(), "dp-store-"));
    let plugin: PluginHandle<typeof DriverServiceService> | undefined;
    cleanups.push(async () => {
      await plugin?.close();
      await rm(base, { recursive: true, force: true });
      await rm(store, { recursive: true, force: true });
    });
    plugin = await launch("pyfake", { pluginDirs: [pluginDir], socketBaseDir: base, logger: silentLogger });
    expect((await plugin.client.getInfo({})).capabilities).toContain(Capability.CAPABILITY_MACHINE_INSTANCES);
    const config = (machineName: string) => ({
      configJson: Buffer.from(JSON.stringify({ machineName, storePath: join(store, machineName) })),
    });
    const a = plugin.forMachine("a");
    const b = plugin.forMachine("b");
    await a.setConfig(config("a"));
    await b.setConfig(config("b"));
    await plugin.client.setConfig(config("plain"));
    await Promise.all(["a", "b", "plain"].map((m) => mkdir(join(store, m))));
    for await (const _ of a.create({}));
    for await (const _ of a.start({}));
    expect((await a.getState({})).state).toBe(State.STATE_RUNNING);
    // b and the default machine are untouched by a's life.
    expect((await b.getState({})).state).toBe(State.STATE_NONE_UNSPECIFIED);
    expect((await plugin.client.getMachineName({})).name).toBe("plain");
    expect((await b.getMachineName({})).name).toBe("b");
    await a.kill({});
    expect((await a.getState({})).state).toBe(State.STATE_STOPPED);
    await expect(plugin.forMachine("never").getMachineName({})).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
    });
  });

  it("answers GetMachineStates as each machine's own SetConfig, GetState and GetIP, errors per entry", async () => {
    const base = await mkdtemp(join(tmpdir(), "dp-"));
    const store = await mkdtemp(join(tmpdir(), "dp-store-"));
    let plugin: PluginHandle<typeof DriverServiceService> | undefined;
    cleanups.push(async () => {
      await plugin?.close();
      await rm(base, { recursive: true, force: true });
      await rm(store, { recursive: true, force: true });
    });
    plugin = await launch("pyfake", { pluginDirs: [pluginDir], socketBaseDir: base, logger: silentLogger });
    expect((await plugin.client.getInfo({})).capabilities).toContain(Capability.CAPABILITY_MACHINE_STATES);
    const configJson = (machineName: string) =>
      Buffer.from(JSON.stringify({ machineName, storePath: join(store, machineName) }));
    await Promise.all(["up", "down"].map((m) => mkdir(join(store, m))));
    for (const m of ["up", "down"]) {
      await plugin.forMachine(m).setConfig({ configJson: configJson(m) });
      for await (const _ of plugin.forMachine(m).create({}));
    }
    for await (const _ of plugin.forMachine("up").start({}));
    const { machines } = await plugin.client.getMachineStates({
      machines: [
        { machine: "up", configJson: configJson("up") },
        { machine: "down", configJson: configJson("down") },
        { machine: "never", configJson: configJson("never") },
        { machine: "bad", configJson: Buffer.from("[1]") },
        { machine: "up", configJson: configJson("up") },
      ],
    });
    expect(machines.map((m) => [m.machine, m.state, m.ip, m.error?.code])).toEqual([
      ["up", State.STATE_RUNNING, (await plugin.forMachine("up").getIp({})).ip, undefined],
      ["down", State.STATE_STOPPED, "", undefined],
      ["never", State.STATE_NONE_UNSPECIFIED, "", undefined],
      ["bad", State.STATE_NONE_UNSPECIFIED, "", status.INVALID_ARGUMENT],
      ["up", State.STATE_NONE_UNSPECIFIED, "", status.INVALID_ARGUMENT],
    ]);
    expect(machines[3]!.error!.message).toBe("config must be a JSON object");
    for (const m of ["up", "down", "never"])
      expect(machines.find((e) => e.machine === m)!.state).toBe((await plugin.forMachine(m).getState({})).state);
    await expect(
      plugin.client.getMachineStates({
        machines: Array.from({ length: 1001 }, (_, i) => ({ machine: `m${i}`, configJson: Buffer.from("{}") })),
      }),
    ).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/at most 1000 per call/) });
  });
});
