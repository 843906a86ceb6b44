// The fake driver served by its real plugin executable: the whole machine
// lifecycle over gRPC, and its state surviving a plugin restart.
import { describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { status, type ServiceError } from "@grpc/grpc-js";
import {
  State,
  type CreateResponse,
  type DriverServiceClient,
  type StartResponse,
} from "../../generated/driverplug/driver/v1/driver.js";
import { collect, pluginEnv, spawnPlugin, unary, type RunningPlugin, pluginSandbox } from "./spawn-plugin.js";

const sandbox = pluginSandbox();

async function start(): Promise<{ plugin: RunningPlugin; driver: DriverServiceClient }> {
  const plugin = await spawnPlugin({ env: pluginEnv({ MACHINE_PLUGIN_SOCKET_DIR: join(sandbox.base, "s") }) });
  sandbox.plugins.push(plugin);
  return { plugin, driver: plugin.driver() };
}

const config = (extra: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({ machineName: "m1", storePath: join(sandbox.base, "store"), ...extra }));

const state = async (d: DriverServiceClient) => (await unary<{ state: State }>((cb) => d.getState({}, cb))).state;

describe("fake driver lifecycle", () => {
  it("goes none -> create -> stopped -> start -> running -> stop -> stopped -> remove -> none with progress", async () => {
    const { driver } = await start();
    await unary((cb) => driver.setConfig({ configJson: config() }, cb));
    expect(await state(driver)).toBe(State.STATE_NONE_UNSPECIFIED);

    const created = await collect<CreateResponse>(driver.create({}));
    expect(created.map((m) => m.progress?.step)).toEqual(["check", "key", "disk", "network", "done"]);
    expect(created.map((m) => m.progress?.percent)).toEqual([10, 30, 60, 80, 100]);
    expect(await state(driver)).toBe(State.STATE_STOPPED);
    expect(existsSync(join(sandbox.base, "store", "id_ed25519"))).toBe(true);

    const started = await collect<StartResponse>(driver.start({}));
    expect(started.at(-1)?.progress).toMatchObject({ step: "ready", percent: 100 });
    expect(await state(driver)).toBe(State.STATE_RUNNING);

    const ip = (await unary<{ ip: string }>((cb) => driver.getIp({}, cb))).ip;
    expect(ip).toMatch(/^192\.0\.2\.\d+$/);
    expect((await unary<{ url: string }>((cb) => driver.getUrl({}, cb))).url).toBe(`tcp://${ip}:2376`);
    expect(await unary((cb) => driver.getSshInfo({}, cb))).toEqual({
      hostname: ip,
      port: 22,
      username: "docker",
      keyPath: join(sandbox.base, "store", "id_ed25519"),
      unixSocketPath: "",
      jump: undefined,
    });

    await unary((cb) => driver.stop({}, cb));
    expect(await state(driver)).toBe(State.STATE_STOPPED);
    await unary((cb) => driver.remove({}, cb));
    expect(await state(driver)).toBe(State.STATE_NONE_UNSPECIFIED);
    expect(existsSync(join(sandbox.base, "store", "id_ed25519"))).toBe(false);
  });

  it("keeps the machine's state across a plugin restart", async () => {
    const first = await start();
    await unary((cb) => first.driver.setConfig({ configJson: config() }, cb));
    await collect(first.driver.create({}));
    await collect(first.driver.start({}));
    await first.plugin.close();

    const second = await start();
    await unary((cb) => second.driver.setConfig({ configJson: config() }, cb));
    expect(await state(second.driver)).toBe(State.STATE_RUNNING);
    const err = await collect(second.driver.create({})).catch((e: ServiceError) => e);
    expect((err as ServiceError).code).toBe(status.ALREADY_EXISTS);
  });
});
