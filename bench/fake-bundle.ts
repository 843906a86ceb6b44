// An esbuild bundle of the fake plugin's entry (dist/src/drivers/fake/main.js
// and everything it imports, node_modules included) in one ESM file: the
// start-up fix the bench measures side by side with the unbundled plugin.
import { build } from "esbuild";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

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
