// One fake plugin serving several machines (CAPABILITY_MACHINE_INSTANCES):
// each call names its machine in the `driverplug-machine` metadata and lands
// on that machine's own driver instance, with its own config, its own
// mutation queue and its own Kill pre-emption. Calls without the key go to
// the default instance, as a go-plugin host's do.
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { Metadata } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Capability, State } from "../../generated/driverplug/driver/v1/driver.js";
import {
  ClientError,
  launch,
  MACHINE_METADATA_KEY,
  silentLogger,
  type HostLogRecord,
  type PluginHandle,
} from "../../src/host/index.js";
import { makeHostTestEnv, type HostTestEnv } from "./host-test-env.js";

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

async function configFor(machine: string, stepDelayMs: number): Promise<{ configJson: Buffer }> {
  const storePath = join(env.scratch, machine);
  await fs.mkdir(storePath, { recursive: true });
  const config = {
    machineName: machine,
    storePath,
    cpus: 2,
    memoryMiB: 2048,
    diskGiB: 20,
    networks: ["default"],
    stepDelayMs,
  };
  return { configJson: Buffer.from(JSON.stringify(config)) };
}

async function start(): Promise<PluginHandle> {
  plugin = await launch("fake", { socketBaseDir: env.base, logger: silentLogger });
  return plugin;
}

describe("machine instances", () => {
  it("advertises the capability and keeps one config per machine, plus the default instance's", async () => {
    const p = await start();
    expect((await p.client.getInfo({})).capabilities).toContain(Capability.CAPABILITY_MACHINE_INSTANCES);
    await p.forMachine("a").setConfig(await configFor("a", 0));
    await p.forMachine("b").setConfig(await configFor("b", 0));
    // No key: the default instance, as a go-plugin host sees it.
    await p.client.setConfig(await configFor("plain", 0));
    const nameOf = async (client: typeof p.client) => (await client.getMachineName({})).name;
    expect(await nameOf(p.forMachine("a"))).toBe("a");
    expect(await nameOf(p.forMachine("b"))).toBe("b");
    expect(await nameOf(p.client)).toBe("plain");
    // A machine never configured has no config of its own, not another's.
    await expect(p.forMachine("c").getMachineName({})).rejects.toMatchObject({ codeName: "FAILED_PRECONDITION" });
  });

  it("never makes one machine's GetState wait for another machine's slow Create", async () => {
    const p = await start();
    const slow = p.forMachine("slow");
    const quick = p.forMachine("quick");
    await slow.setConfig(await configFor("slow", 60_000));
    await quick.setConfig(await configFor("quick", 0));
    const order: string[] = [];
    const slowCreate = (async () => {
      try {
        for await (const event of slow.create({})) order.push(`slow ${event.progress?.step}`);
      } catch (err) {
        order.push(`slow ${(err as ClientError).codeName}`);
      }
    })();
    // The slow machine's Create holds its queue (its first step is a minute away) once
    // another mutating call of that machine has to wait behind it.
    for (;;) {
      const queued = await slow.setConfig(await configFor("slow", 60_000), { timeoutMs: 1_000 }).then(
        () => false,
        (err: ClientError) => err.codeName === "DEADLINE_EXCEEDED",
      );
      if (queued) break;
    }
    // Mutating calls and queries on the other machine run at once.
    for await (const event of quick.create({})) order.push(`quick ${event.progress?.step}`);
    expect((await quick.getState({})).state).toBe(State.STATE_STOPPED);
    order.push("quick state read");
    // Queued behind its own Create, the slow machine's Stop would wait; its Kill does not
    // (it waits only for the aborted Create to clean up, which leaves no machine to kill).
    await expect(slow.kill({})).rejects.toMatchObject({ codeName: "NOT_FOUND" });
    await slowCreate;
    expect(order).toEqual([
      "quick check",
      "quick key",
      "quick disk",
      "quick network",
      "quick done",
      "quick state read",
      "slow CANCELLED",
    ]);
  });

  it("lets Kill pre-empt only its own machine's call", async () => {
    const p = await start();
    const a = p.forMachine("a");
    const b = p.forMachine("b");
    await a.setConfig(await configFor("a", 0));
    await b.setConfig(await configFor("b", 0));
    for (const client of [a, b]) for await (const _ of client.create({})) void _;
    await a.updateConfig(await configFor("a", 60_000));
    await b.updateConfig(await configFor("b", 60_000));
    const outcome = (client: typeof a) =>
      (async () => {
        const steps: string[] = [];
        try {
          for await (const event of client.start({})) steps.push(event.progress?.step ?? "");
          return [...steps, "done"];
        } catch (err) {
          return [...steps, (err as ClientError).codeName];
        }
      })();
    const startA = outcome(a);
    const startB = outcome(b);
    // Both machines are starting (their first step is a minute away).
    while (
      (await a.getState({})).state !== State.STATE_STARTING ||
      (await b.getState({})).state !== State.STATE_STARTING
    )
      await new Promise((r) => setImmediate(r));
    await a.kill({});
    expect(await startA).toEqual(["CANCELLED"]);
    expect((await a.getState({})).state).toBe(State.STATE_STOPPED);
    // b's Start goes on: it is still starting after a's was cut short.
    expect((await b.getState({})).state).toBe(State.STATE_STARTING);
    await b.kill({});
    expect(await startB).toEqual(["CANCELLED"]);
  });

  it("refuses a machine key that names no machine, saying why", async () => {
    const p = await start();
    const two = new Metadata();
    two.add(MACHINE_METADATA_KEY, "a");
    two.add(MACHINE_METADATA_KEY, "b");
    await expect(p.client.getState({}, { metadata: two })).rejects.toMatchObject({
      codeName: "INVALID_ARGUMENT",
      // HTTP/2 joins the two values into one, "a, b".
      details: expect.stringMatching(/"driverplug-machine" metadata "a, b" names no machine/),
    });
    expect(() => p.forMachine("has space")).toThrow(/printable ASCII without spaces/);
  });
});

describe("machine instances are bounded and freed", () => {
  const BOUNDED = new URL("../fixtures/plugins/bounded-fake-driver.mjs", import.meta.url).pathname;
  let records: HostLogRecord[];

  async function startBounded(options: { maxMachines: number; machineIdleMs: number }): Promise<PluginHandle> {
    records = [];
    plugin = await launch("boundedfake", {
      executable: BOUNDED,
      socketBaseDir: env.base,
      env: { FIXTURE_SERVE_OPTIONS: JSON.stringify(options) },
      logger: { log: (r) => void records.push(r) },
    });
    return plugin;
  }

  /** The plugin's own count of live instances (the default one included), each time it changed. */
  const counts = () =>
    records.filter((r) => r.message.startsWith("machine instance ")).map((r) => Number(r.fields.machines));

  it("keeps the instance count at its cap however many distinct machines are named, making room from idle ones", async () => {
    const p = await startBounded({ maxMachines: 5, machineIdleMs: 600_000 });
    for (let i = 0; i < 200; i++) {
      // Each a machine never configured: FAILED_PRECONDITION, and an instance made for it.
      await expect(p.forMachine(`m${i}`).getState({})).rejects.toMatchObject({ codeName: "FAILED_PRECONDITION" });
    }
    // Each of the 200 made one; past the cap of 5 each made room by freeing one.
    const freed = () => records.filter((r) => r.message === "machine instance freed").length;
    await expect.poll(freed).toBe(195);
    expect(Math.max(...counts())).toBeLessThanOrEqual(6);
  });

  it("refuses a machine past the cap with RESOURCE_EXHAUSTED while every instance holds a config; Remove frees one", async () => {
    const p = await startBounded({ maxMachines: 3, machineIdleMs: 600_000 });
    for (const m of ["a", "b", "c"]) await p.forMachine(m).setConfig(await configFor(m, 0));
    const refused = await p
      .forMachine("d")
      .getState({})
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ClientError);
    expect(refused).toMatchObject({ codeName: "RESOURCE_EXHAUSTED" });
    expect((refused as ClientError).details).toMatch(/already serves 3 machines \(its maxMachines\)/);
    // The machines it serves still answer.
    expect((await p.forMachine("a").getMachineName({})).name).toBe("a");

    await p.forMachine("b").remove({});
    await expect
      .poll(() => records.find((r) => r.message === "machine instance freed")?.fields)
      .toMatchObject({ machine: "b", why: "its machine was removed" });
    await p.forMachine("d").setConfig(await configFor("d", 0));
    expect((await p.forMachine("d").getMachineName({})).name).toBe("d");
    // b's instance and its config are gone; a, c and d fill the cap again.
    await expect(p.forMachine("b").getMachineName({})).rejects.toMatchObject({ codeName: "RESOURCE_EXHAUSTED" });
  });

  it("frees an instance that has no config once it has been idle, and keeps configured ones", async () => {
    const p = await startBounded({ maxMachines: 10, machineIdleMs: 200 });
    await p.forMachine("kept").setConfig(await configFor("kept", 0));
    await expect(p.forMachine("passing").getState({})).rejects.toMatchObject({ codeName: "FAILED_PRECONDITION" });
    await expect
      .poll(() => records.find((r) => r.message === "machine instance freed")?.fields, { timeout: 10_000 })
      .toMatchObject({ machine: "passing", why: "idle for 0.2 s with no config" });
    expect(records.filter((r) => r.message === "machine instance freed").map((r) => r.fields.machine)).toEqual([
      "passing",
    ]);
    expect((await p.forMachine("kept").getMachineName({})).name).toBe("kept");
  });
});
