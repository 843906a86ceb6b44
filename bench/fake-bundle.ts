// esbuild bundles of the fake plugin (its code and node_modules in one file):
// the start-up fixes the bench measures side by side with the shipped plugin.
// One ESM bundle of dist/src/drivers/fake/main.js, and one CommonJS bundle of
// bench/plugins/fake-cjs-entry.ts for the V8 code-cache loader.
import { build } from "esbuild";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

const OUT = join(ROOT, ".bench-tmp", "bundle");

export async function bundleFakePlugin(): Promise<string> {
  const outfile = join(ROOT, ".bench-tmp", "bundle", "driverplug-driver-fake.mjs");
  await mkdir(join(ROOT, ".bench-tmp", "bundle"), { recursive: true });
  await build({
    entryPoints: [join(ROOT, "dist", "src", "drivers", "fake", "main.js")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    minify: true,
    logLevel: "error",
    // grpc-js is CommonJS and calls require() for Node's built-ins.
    banner: { js: 'import { createRequire as __dpRequire } from "node:module"; const require = __dpRequire(import.meta.url);' },
  });
  return outfile;
}

/** The CommonJS bundle; its stale code cache is removed so the first run writes a fresh one. */
export async function bundleFakePluginCjs(): Promise<string> {
  const outfile = join(OUT, "driverplug-driver-fake.cjs");
  await mkdir(OUT, { recursive: true });
  await rm(`${outfile}.v8cache`, { force: true });
  await build({
    entryPoints: [join(ROOT, "dist", "bench", "plugins", "fake-cjs-entry.js")],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    minify: true,
    logLevel: "error",
  });
  return outfile;
}
