// Finding plugin executables: plugin dirs before PATH, bundled drivers
// without a lookup, unsafe names refused, and a miss that lists every place.
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { findPlugin, ClientError } from "../../src/host/index.js";
import { bundledDriverPath } from "../../src/host/bundled-drivers.js";
import { makeHostTestEnv, REPO_ROOT, type HostTestEnv } from "./host-test-env.js";

let env: HostTestEnv;
let dirA: string;
let dirB: string;
beforeEach(async () => {
  env = await makeHostTestEnv();
  dirA = join(env.scratch, "a");
  dirB = join(env.scratch, "b");
  await fs.mkdir(dirA);
  await fs.mkdir(dirB);
});
afterEach(async () => {
  await env.cleanup();
});

async function install(dir: string, name: string, mode = 0o755): Promise<string> {
  const path = join(dir, `driverplug-driver-${name}`);
  await fs.writeFile(path, "#!/bin/sh\n", { mode });
  return path;
}

describe("findPlugin", () => {
  it("prefers the configured plugin dirs over PATH", async () => {
    const inDirs = await install(dirA, "hyperkit");
    await install(dirB, "hyperkit");
    await expect(findPlugin("hyperkit", { pluginDirs: [dirA], path: dirB })).resolves.toEqual({
      name: "hyperkit",
      path: inDirs,
      source: "plugin dir",
    });
  });

  it("falls back to PATH", async () => {
    const onPath = await install(dirB, "hyperkit");
    await expect(findPlugin("hyperkit", { pluginDirs: [dirA], path: `relative:${dirB}` })).resolves.toEqual({
      name: "hyperkit",
      path: onPath,
      source: "PATH",
    });
  });

  it("skips files that are not executable", async () => {
    await install(dirA, "hyperkit", 0o644);
    const onPath = await install(dirB, "hyperkit");
    await expect(findPlugin("hyperkit", { pluginDirs: [dirA], path: dirB })).resolves.toMatchObject({ path: onPath });
  });

  it("lists every place it looked when the plugin is missing", async () => {
    const err = await findPlugin("hyperv", { pluginDirs: [dirA], path: dirB }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).reason).toBe("not-found");
    expect((err as ClientError).message).toContain(`${join(dirA, "driverplug-driver-hyperv")} (plugin dir)`);
    expect((err as ClientError).message).toContain(`${join(dirB, "driverplug-driver-hyperv")} (PATH)`);
  });

  it.each(["../evil", "a/b", "", "UPPER", "-dash", "x".repeat(33), "sp ace"])(
    "refuses the unsafe name %j",
    async (name) => {
      await expect(findPlugin(name, { path: dirB })).rejects.toThrow(/invalid driver name/);
    },
  );

  it("refuses relative plugin dirs", async () => {
    await expect(findPlugin("hyperkit", { pluginDirs: ["plugins"] })).rejects.toThrow(/relative/);
  });

  it("resolves the bundled fake and qemu drivers to this package's bin/ without a lookup", () => {
    expect(bundledDriverPath("fake")).toBe(join(REPO_ROOT, "bin", "driverplug-driver-fake"));
    expect(bundledDriverPath("qemu")).toBe(join(REPO_ROOT, "bin", "driverplug-driver-qemu"));
    expect(bundledDriverPath("hyperkit")).toBeUndefined();
  });
});
