// The machine store: names, atomic versioned config.json, and a corrupted
// file reported by path and never rewritten.
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir, homedir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CliError } from "../../src/cli/cli-error.js";
import { isValidMachineName } from "../../src/cli/machine-name.js";
import { MachineStore, storeRoot } from "../../src/cli/machine-store.js";

let root: string;
let store: MachineStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "dp-store-"));
  store = new MachineStore(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("machine names", () => {
  it("accepts letters, digits, dot, underscore and dash starting with a letter or digit", () => {
    for (const ok of ["m1", "dev-1", "a.b_c", "X", "9", "a".repeat(63)]) expect(isValidMachineName(ok)).toBe(true);
  });
  it("rejects names that could escape the store, hide, or be confused with options", () => {
    for (const bad of ["", ".", "..", "../x", "a/b", ".hidden", "-rf", "a b", "é", "a".repeat(64), "a\0"]) {
      expect(isValidMachineName(bad)).toBe(false);
    }
  });
  it("refuses to build a path from an invalid name", () => {
    expect(() => store.machineDir("../etc")).toThrow(/invalid machine name "\.\.\/etc"/);
  });
});

describe("store root", () => {
  it("is DRIVERPLUG_STORE when set, made absolute", () => {
    expect(storeRoot({ DRIVERPLUG_STORE: "rel/store" })).toBe(join(process.cwd(), "rel/store"));
  });
  it("defaults to ~/.driverplug", () => {
    expect(storeRoot({})).toBe(join(homedir(), ".driverplug"));
  });
});

describe("config.json", () => {
  it("round-trips the driver name and config with a format version", async () => {
    await store.createDir("m1");
    await store.write("m1", { driver: "fake", config: { cpus: 2, networks: ["default"] } });
    const onDisk = JSON.parse(await readFile(store.configPath("m1"), "utf8"));
    expect(onDisk).toEqual({ version: 1, driver: "fake", config: { cpus: 2, networks: ["default"] } });
    expect(await store.read("m1")).toEqual({ driver: "fake", config: { cpus: 2, networks: ["default"] } });
  });

  it("leaves no temp files behind after a write", async () => {
    await store.createDir("m1");
    await store.write("m1", { driver: "fake", config: {} });
    await store.write("m1", { driver: "fake", config: { a: 1 } });
    expect(await readdir(store.machineDir("m1"))).toEqual(["config.json"]);
  });

  it("reports a corrupted file by path and leaves its bytes unchanged", async () => {
    await store.createDir("m1");
    const garbage = '{"version":1,"driver":"fake","config":{"cpus":2';
    await writeFile(store.configPath("m1"), garbage);
    const err = await store.read("m1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toContain(store.configPath("m1"));
    expect((err as Error).message).toMatch(/not JSON/);
    expect(await readFile(store.configPath("m1"), "utf8")).toBe(garbage);
  });

  it("rejects a config of an unknown format version, naming the file", async () => {
    await store.createDir("m1");
    await writeFile(store.configPath("m1"), JSON.stringify({ version: 2, driver: "fake", config: {} }));
    await expect(store.read("m1")).rejects.toThrow(/"version" is 2, this driverplug reads version 1/);
  });

  it("says how to find machines when the name is unknown", async () => {
    await expect(store.read("nope")).rejects.toThrow(/no machine named "nope" .*driverplug ls/);
  });

  it("says how to clean up a machine directory without config.json", async () => {
    await store.createDir("half");
    await expect(store.read("half")).rejects.toThrow(/has no .*config.json .*driverplug rm half/);
  });

  it("refuses to create a machine directory twice", async () => {
    await store.createDir("m1");
    await expect(store.createDir("m1")).rejects.toThrow(/machine "m1" already exists/);
  });

  it("lists machine directories sorted, skipping names that are not machine names", async () => {
    await store.createDir("b");
    await store.createDir("a");
    await mkdir(join(store.machinesDir, ".tmp"));
    await writeFile(join(store.machinesDir, "file"), "");
    expect(await store.list()).toEqual(["a", "b"]);
  });

  it("lists nothing when the store does not exist yet", async () => {
    expect(await new MachineStore(join(root, "missing")).list()).toEqual([]);
  });
});
