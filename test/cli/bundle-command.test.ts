// `driverplug bundle <entry> <out>` as a driver author runs it: the executable
// it writes is found and driven by the CLI; its mistakes are one-line errors.
// (A project without esbuild gets the install hint: test/package/newcomer.)
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { REPO } from "../plugin/spawn-plugin.js";
import { Sandbox } from "./driverplug-process.js";

const FIXTURES = join(REPO, "test", "build", "fixtures");

let box: Sandbox;
beforeEach(async () => {
  box = await Sandbox.create();
});
afterEach(async () => {
  await box.dispose();
});

describe("driverplug bundle", () => {
  it("writes a plugin executable with its code cache that the CLI then finds and drives", async () => {
    const out = join(box.root, "plugins", "driverplug-driver-tiny");
    const r = await box.run(["bundle", join(FIXTURES, "tiny-driver.ts"), out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${out}\n`);
    expect(r.stderr).toContain("with a code cache");
    expect((await readdir(join(box.root, "plugins"))).sort()).toEqual([
      "driverplug-driver-tiny",
      "driverplug-driver-tiny.bundle.cjs",
      "driverplug-driver-tiny.bundle.cjs.map",
      "driverplug-driver-tiny.bundle.cjs.v8cache",
      "driverplug-driver-tiny.cjs",
    ]);
    const inspect = await box.run(["inspect", "tiny", "--json"], { DRIVERPLUG_PLUGIN_DIRS: join(box.root, "plugins") });
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout)).toMatchObject({ name: "tiny", version: "1.0.0" });
  });

  it("leaves the cache to the first run with --no-cache", async () => {
    const out = join(box.root, "plugins", "driverplug-driver-tiny");
    const r = await box.run(["bundle", "--no-cache", join(FIXTURES, "tiny-driver.ts"), out]);
    expect(r.code, r.stderr).toBe(0);
    expect(await readdir(join(box.root, "plugins"))).not.toContain("driverplug-driver-tiny.bundle.cjs.v8cache");
  });

  it("says to call serve() without awaiting it for an entry with top-level await, in one line", async () => {
    const entry = join(FIXTURES, "awaited-entry.ts");
    const r = await box.run(["bundle", entry, join(box.root, "x", "driverplug-driver-awaited")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `driverplug: bundle: ${entry} uses top-level await, which a CommonJS bundle cannot hold: call serve(...) without awaiting it\n`,
    );
  });

  it("refuses a --cookie that is not KEY=VALUE as a usage error", async () => {
    const r = await box.run(["bundle", "--cookie", "nope", join(FIXTURES, "tiny-driver.ts"), join(box.root, "x")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^driverplug: --cookie wants KEY=VALUE .*got "nope"\n$/);
  });
});
