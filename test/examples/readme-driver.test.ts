// The README's "Write a driver" example, taken from the README itself, is a
// working plugin: bundled as it stands (its `driverplug` imports pointing at
// this checkout's dist/), installed as driverplug-driver-mydriver in a plugin
// dir, it runs through the real `driverplug create/start/stop/rm`.
import { build } from "esbuild";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOk, Sandbox } from "../cli/driverplug-process.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

/** The first ```ts block of the README's "Write a driver" section. */
async function readmeDriver(): Promise<string> {
  const readme = await readFile(join(REPO, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Write a driver"));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README.md has no ```ts block under "## Write a driver"');
  return block[1]!;
}

let dir: string;
let pluginDir: string;
let plugin: string;
let name: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dp-readme-"));
  pluginDir = join(dir, "plugins");
  const source = await readmeDriver();
  name = /serve\(\{\s*name:\s*"([a-z0-9-]+)"/.exec(source)?.[1] ?? "";
  expect(name, "the README's serve() call names the driver").not.toBe("");
  // Bundled as a driver author would ship it, its imports resolved to this checkout.
  const bundle = join(dir, "driver.mjs");
  await build({
    stdin: { contents: source, loader: "ts", resolveDir: REPO, sourcefile: "README.md" },
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: bundle,
    alias: {
      "driverplug/plugin": join(REPO, "dist/src/plugin/index.js"),
      "driverplug/host": join(REPO, "dist/src/host/index.js"),
      driverplug: join(REPO, "dist/src/index.js"),
    },
    // The framework's own CommonJS dependencies (grpc-js) call require().
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: "silent",
  });
  await mkdir(pluginDir);
  plugin = join(pluginDir, `driverplug-driver-${name}`);
  await writeFile(plugin, `#!/bin/sh\nexec "${process.execPath}" "${bundle}" "$@"\n`);
  await chmod(plugin, 0o755);
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the README's minimal driver", () => {
  it("runs through driverplug create, start, stop and rm", async () => {
    const box = await Sandbox.create();
    try {
      const env = { DRIVERPLUG_PLUGIN_DIRS: pluginDir };
      const created = await expectOk(box, ["create", "--driver", name, "m1"], env);
      expect(created.stdout).toContain('Machine "m1" created');
      expect(await box.machines()).toEqual(["m1"]);
      await expectOk(box, ["start", "m1"], env);
      await expectOk(box, ["stop", "m1"], env);
      await expectOk(box, ["rm", "m1"], env);
      expect(await box.machines()).toEqual([]);
    } finally {
      await box.dispose();
    }
  });
});
