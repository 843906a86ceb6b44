// What a host gets from the optional methods a driver leaves out: the two it
// calls on every `create` have answers (no flags; a flag value is
// INVALID_ARGUMENT naming the flag), the others are UNIMPLEMENTED. Against
// examples/minimal-driver.ts, a real plugin that implements neither.
import { status } from "@grpc/grpc-js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { withDefaults, type Driver } from "../../src/plugin/driver.js";
import { launch, silentLogger, type PluginHandle } from "../../src/host/index.js";
import { clientFailure } from "../host/host-test-env.js";

const example = fileURLToPath(new URL("../../dist/examples/minimal-driver.js", import.meta.url));
const cpus = { cpus: { kind: { $case: "intValue" as const, value: 2n } } };
let base: string;
let plugin: PluginHandle<typeof DriverServiceService> | undefined;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "dp-"));
});

afterEach(async () => {
  await plugin?.close();
  plugin = undefined;
  await rm(base, { recursive: true, force: true });
});

describe("a driver without GetCreateFlags and SetConfigFromFlags", () => {
  it("has no flags, takes no values, and refuses a flag value naming the flag", async () => {
    plugin = await launch("minimal", {
      executable: process.execPath,
      args: [example],
      socketBaseDir: base,
      logger: silentLogger,
    });
    expect((await plugin.client.getCreateFlags({})).flags).toEqual([]);
    await plugin.client.setConfigFromFlags({ values: {} });
    const err = await clientFailure(
      plugin.client.setConfigFromFlags({ values: { ...cpus, disk: { kind: { $case: "stringValue", value: "x" } } } }),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe('unknown flag "cpus", "disk": minimal takes no create flags');
    // Other optional methods left out stay UNIMPLEMENTED.
    expect((await clientFailure(plugin.client.getUrl({}))).code).toBe(status.UNIMPLEMENTED);
  });
});

describe("a driver with GetCreateFlags but without SetConfigFromFlags", () => {
  it("refuses any flag value, naming it, since nothing could apply it", async () => {
    const done = async () => ({});
    const driver = {
      getConfig: async () => ({ configJson: Buffer.from("{}") }),
      setConfig: done,
      async *create() {},
      async *start() {},
      stop: done,
      kill: done,
      remove: done,
      getState: async () => ({ state: 0 }),
      getCreateFlags: async () => ({ flags: [] }),
    } as unknown as Driver;
    const handlers = withDefaults(driver, { name: "half", version: "1" });
    await expect(handlers.setConfigFromFlags!({ values: {} }, undefined as never)).resolves.toEqual({});
    await expect(handlers.setConfigFromFlags!({ values: cpus }, undefined as never)).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      message: 'half cannot apply flag "cpus": it lists create flags but implements no SetConfigFromFlags',
    });
  });
});
