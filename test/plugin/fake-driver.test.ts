// The fake driver's contract over the wire: config validation messages,
// typed create flags, idempotency, status codes per state, WatchState, and
// the access details it reports.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { status, type ServiceError } from "@grpc/grpc-js";
import {
  FlagType,
  State,
  type DriverServiceClient,
  type FlagValue,
} from "../../generated/driverplug/driver/v1/driver.js";
import { collect, pluginEnv, removeDir, shortTempDir, spawnPlugin, unary, type RunningPlugin } from "./spawn-plugin.js";

let base: string;
let plugin: RunningPlugin;
let driver: DriverServiceClient;

// One plugin for the file: each test sets the config it needs first.
beforeAll(async () => {
  base = await shortTempDir();
  plugin = await spawnPlugin({ env: pluginEnv({ PLUGIN_UNIX_SOCKET_DIR: base }) });
  driver = plugin.driver();
});

afterAll(async () => {
  await plugin.close();
  await removeDir(base);
});

let machines = 0;
function freshConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  machines += 1;
  return { machineName: `m${machines}`, storePath: join(base, `store${machines}`), ...extra };
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const setConfig = (config: unknown) => unary((cb) => driver.setConfig({ configJson: json(config) }, cb));
const getConfig = async () =>
  JSON.parse((await unary<{ configJson: Buffer }>((cb) => driver.getConfig({}, cb))).configJson.toString()) as Record<
    string,
    unknown
  >;
const failure = <T>(p: Promise<T>) =>
  p.then(
    () => expect.fail("the call should have failed"),
    (err: ServiceError) => err,
  );
const getState = async () => (await unary<{ state: State }>((cb) => driver.getState({}, cb))).state;

describe("fake driver config", () => {
  const cases: Array<[string, unknown, string]> = [
    ["not JSON", "{", "config is not valid JSON"],
    ["missing machineName", { storePath: "/tmp/x" }, 'config field "machineName" is required'],
    ["missing storePath", { machineName: "a" }, 'config field "storePath" is required'],
    ["relative storePath", { machineName: "a", storePath: "rel" }, 'config field "storePath" must be an absolute path'],
    [
      "cpus not an integer",
      { machineName: "a", storePath: "/tmp/x", cpus: 1.5 },
      'config field "cpus" must be an integer',
    ],
    [
      "cpus out of range",
      { machineName: "a", storePath: "/tmp/x", cpus: 0 },
      'config field "cpus" must be between 1 and 64, got 0',
    ],
    [
      "memory of the wrong type",
      { machineName: "a", storePath: "/tmp/x", memoryMiB: "2G" },
      'config field "memoryMiB" must be an integer, got "2G"',
    ],
    [
      "empty network list",
      { machineName: "a", storePath: "/tmp/x", networks: [] },
      'config field "networks" must be a non-empty list',
    ],
    [
      "bad network name",
      { machineName: "a", storePath: "/tmp/x", networks: ["ok", "no spaces"] },
      'config field "networks[1]"',
    ],
    ["unknown field", { machineName: "a", storePath: "/tmp/x", colour: "red" }, 'config field "colour" is unknown'],
    ["bad machine name", { machineName: "-x", storePath: "/tmp/x" }, 'config field "machineName" is "-x"'],
    [
      "shared dir without source",
      { machineName: "a", storePath: "/tmp/x", sharedDirs: [{ target: "/mnt" }] },
      'config field "sharedDirs[0].source"',
    ],
    ["array instead of object", [1], "config must be a JSON object"],
  ];
  for (const [what, config, message] of cases) {
    it(`refuses ${what} with INVALID_ARGUMENT naming the field`, async () => {
      const bytes = typeof config === "string" ? Buffer.from(config) : json(config);
      const err = await failure(unary((cb) => driver.setConfig({ configJson: bytes }, cb)));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toContain(message);
    });
  }

  it("fills in defaults and returns the whole config from GetConfig", async () => {
    const config = freshConfig();
    await setConfig(config);
    expect(await getConfig()).toEqual({
      ...config,
      cpus: 2,
      memoryMiB: 2048,
      diskGiB: 20,
      networks: ["default"],
      stepDelayMs: 0,
      bundleName: "fake-bundle-1.0",
      nestedVirtualization: false,
      sharedDirs: [],
    });
  });

  it("never logs a shared directory's password but returns it from GetSharedDirs", async () => {
    await setConfig(
      freshConfig({
        sharedDirs: [{ source: "/home", target: "/mnt/home", username: "u", password: "hunter2-secret" }],
      }),
    );
    const { sharedDirs } = await unary<{ sharedDirs: Array<{ password: string; type: string }> }>((cb) =>
      driver.getSharedDirs({}, cb),
    );
    expect(sharedDirs[0]).toMatchObject({ password: "hunter2-secret", type: "virtiofs" });
    expect(plugin.stderr.join("\n")).not.toContain("hunter2-secret");
  });
});

describe("fake driver create flags", () => {
  it("describes typed flags with defaults", async () => {
    const { flags } = await unary<{ flags: Array<{ name: string; type: FlagType }> }>((cb) =>
      driver.getCreateFlags({}, cb),
    );
    expect(flags.map((f) => [f.name, f.type])).toEqual([
      ["cpus", FlagType.FLAG_TYPE_INT],
      ["memory", FlagType.FLAG_TYPE_INT],
      ["disk", FlagType.FLAG_TYPE_INT],
      ["network", FlagType.FLAG_TYPE_STRING_LIST],
      ["nested-virt", FlagType.FLAG_TYPE_BOOL],
      ["bundle", FlagType.FLAG_TYPE_STRING],
    ]);
  });

  it("applies flag values to the config", async () => {
    await setConfig(freshConfig());
    const values: Record<string, FlagValue> = {
      cpus: { kind: { $case: "intValue", value: 4n } },
      memory: { kind: { $case: "intValue", value: 4096n } },
      network: { kind: { $case: "stringListValue", value: { values: ["a", "b"] } } },
      "nested-virt": { kind: { $case: "boolValue", value: true } },
      bundle: { kind: { $case: "stringValue", value: "b2" } },
    };
    await unary((cb) => driver.setConfigFromFlags({ values }, cb));
    expect(await getConfig()).toMatchObject({
      cpus: 4,
      memoryMiB: 4096,
      networks: ["a", "b"],
      nestedVirtualization: true,
      bundleName: "b2",
    });
  });

  it("refuses an unknown flag, a wrong type and an out-of-range value, naming the flag", async () => {
    await setConfig(freshConfig());
    const cases: Array<[Record<string, FlagValue>, string]> = [
      [{ colour: { kind: { $case: "stringValue", value: "red" } } }, 'unknown flag "colour"'],
      [{ cpus: { kind: { $case: "stringValue", value: "4" } } }, 'flag "cpus" takes an int, got a string'],
      [
        { memory: { kind: { $case: "intValue", value: 1n } } },
        'flag "memory": config field "memoryMiB" must be between 128',
      ],
    ];
    for (const [values, message] of cases) {
      const err = await failure(unary((cb) => driver.setConfigFromFlags({ values }, cb)));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toContain(message);
    }
  });
});

describe("fake driver states and status codes", () => {
  it("answers per the status codes of driver.proto in each state, idempotently where promised", async () => {
    const config = freshConfig();
    await setConfig(config);
    // No machine yet.
    expect((await failure(unary((cb) => driver.getIp({}, cb)))).code).toBe(status.NOT_FOUND);
    expect((await failure(collect(driver.start({})))).code).toBe(status.NOT_FOUND);
    expect((await failure(unary((cb) => driver.kill({}, cb)))).code).toBe(status.NOT_FOUND);
    await unary((cb) => driver.remove({}, cb));
    await unary((cb) => driver.preCreateCheck({}, cb));
    await collect(driver.create({}));
    expect((await failure(collect(driver.create({})))).code).toBe(status.ALREADY_EXISTS);
    expect((await failure(unary((cb) => driver.preCreateCheck({}, cb)))).code).toBe(status.FAILED_PRECONDITION);
    // Stopped.
    const stopped = await failure(unary((cb) => driver.getIp({}, cb)));
    expect(stopped.code).toBe(status.FAILED_PRECONDITION);
    expect(stopped.details).toContain("is not running");
    await unary((cb) => driver.stop({}, cb));
    await unary((cb) => driver.kill({}, cb));
    expect(await getState()).toBe(State.STATE_STOPPED);
    // Running.
    await collect(driver.start({}));
    expect(await collect(driver.start({}))).toEqual([]);
    expect((await failure(unary((cb) => driver.remove({}, cb)))).code).toBe(status.FAILED_PRECONDITION);
    expect(
      (await failure(unary((cb) => driver.updateConfig({ configJson: json({ ...config, cpus: 8 }) }, cb)))).code,
    ).toBe(status.FAILED_PRECONDITION);
    await unary((cb) => driver.restart({}, cb));
    expect(await getState()).toBe(State.STATE_RUNNING);
    await unary((cb) => driver.kill({}, cb));
    expect(await getState()).toBe(State.STATE_STOPPED);
    // Stopped again: config can change, but not the machine's identity.
    await unary((cb) => driver.updateConfig({ configJson: json({ ...config, cpus: 8 }) }, cb));
    expect(await getConfig()).toMatchObject({ cpus: 8 });
    const rename = await failure(
      unary((cb) => driver.updateConfig({ configJson: json({ ...config, machineName: "other" }) }, cb)),
    );
    expect(rename.code).toBe(status.INVALID_ARGUMENT);
    expect(rename.details).toContain('"machineName" cannot change');
    await unary((cb) => driver.remove({}, cb));
    await unary((cb) => driver.remove({}, cb));
    expect(await getState()).toBe(State.STATE_NONE_UNSPECIFIED);
  });

  it("WatchState streams the current state, then every change", async () => {
    await setConfig(freshConfig());
    const watch = driver.watchState({});
    const seen: State[] = [];
    let waiter: { n: number; resolve: () => void } | undefined;
    watch.on("data", (m: { state: State }) => {
      seen.push(m.state);
      if (waiter && seen.length >= waiter.n) waiter.resolve();
    });
    watch.on("error", () => {});
    const reached = (n: number) =>
      new Promise<void>((resolve) => (seen.length >= n ? resolve() : (waiter = { n, resolve })));
    await reached(1);
    await collect(driver.create({}));
    await collect(driver.start({}));
    await unary((cb) => driver.stop({}, cb));
    await reached(6);
    watch.cancel();
    expect(seen).toEqual([
      State.STATE_NONE_UNSPECIFIED,
      State.STATE_STOPPED,
      State.STATE_STARTING,
      State.STATE_RUNNING,
      State.STATE_STOPPING,
      State.STATE_STOPPED,
    ]);
  });

  it("gives the same IP to the same machine name, in 192.0.2.0/24", async () => {
    const config = freshConfig({ machineName: "stable" });
    await setConfig(config);
    await collect(driver.create({}));
    await collect(driver.start({}));
    const first = await unary<{ ip: string }>((cb) => driver.getIp({}, cb));
    expect(first.ip).toMatch(/^192\.0\.2\.([1-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-4])$/);
    await setConfig(config);
    expect(await unary((cb) => driver.getIp({}, cb))).toEqual(first);
    expect(await unary((cb) => driver.getBundleName({}, cb))).toEqual({ bundleName: "fake-bundle-1.0" });
    expect(await unary((cb) => driver.getMachineName({}, cb))).toEqual({ name: "stable" });
  });

  it("reports FAILED_PRECONDITION for every machine call before any config is set", async () => {
    const fresh = await spawnPlugin({ env: pluginEnv({ PLUGIN_UNIX_SOCKET_DIR: base }) });
    try {
      const d = fresh.driver();
      const err = await failure(unary((cb) => d.getState({}, cb)));
      expect(err.code).toBe(status.FAILED_PRECONDITION);
      expect(err.details).toContain("no config set");
      expect((await failure(collect(d.create({})))).code).toBe(status.FAILED_PRECONDITION);
      expect(await unary<{ driverName: string; apiVersions: number[] }>((cb) => d.getInfo({}, cb))).toMatchObject({
        driverName: "fake",
        apiVersions: [1],
      });
    } finally {
      await fresh.close();
    }
  });
});
