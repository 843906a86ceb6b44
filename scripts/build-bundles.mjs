// `make build`'s bundle step: the bundled drivers' plugin executables (fake,
// qemu, libvirt) and the driverplug CLI as code-cached bundles in dist/bundle/
// (bundle-plugin.mjs), run by bin/driverplug-driver-<name> and bin/driverplug:
// the CLI is two bundles, a small entry that answers `status` on a warm plugin
// (src/cli/fast/) and the full CLI it loads for everything else.
// No source maps: the package ships these bundles, and their maps would point
// at node_modules sources that are not there (and weigh several MB); the code
// keeps its names.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundledInputs, bundlePlugin, writeCodeCache } from "./bundle-plugin.mjs";

const root = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url));

/**
 * For the fast status bundle: ts-proto's generated modules build their grpc-js
 * client class at the top level (`= makeGenericClientConstructor(...)`), which
 * keeps every service definition, and so every message type, in the bundle.
 * The fast path uses none of them: marked pure, esbuild drops what is unused
 * (generated/ itself is never edited; this bundle alone is built so).
 */
const pureClientConstructors = {
  name: "pure-client-constructors",
  setup(build) {
    build.onLoad({ filter: /[\\/]generated[\\/].*\.ts$/ }, async (args) => ({
      contents: (await readFile(args.path, "utf8")).replaceAll(
        "= makeGenericClientConstructor(",
        "= /* @__PURE__ */ makeGenericClientConstructor(",
      ),
      loader: "ts",
    }));
  },
};

const fake = await bundlePlugin({
  entry: root("src/drivers/fake/main.ts"),
  out: root("dist/bundle/driverplug-driver-fake"),
  sourcemap: false,
});
await writeCodeCache(fake);
const qemu = await bundlePlugin({
  entry: root("src/drivers/qemu/main.ts"),
  out: root("dist/bundle/driverplug-driver-qemu"),
  sourcemap: false,
});
await writeCodeCache(qemu);
const libvirt = await bundlePlugin({
  entry: root("src/drivers/libvirt/main.ts"),
  out: root("dist/bundle/driverplug-driver-libvirt"),
  sourcemap: false,
  // The session daemon lock's OFD-lock addon (prebuilt .node files): loaded from node_modules.
  external: ["fs-native-extensions"],
});
await writeCodeCache(libvirt);
const cli = await bundlePlugin({
  entry: root("src/cli/main.ts"),
  out: root("dist/bundle/driverplug-cli"),
  sourcemap: false,
  // The machine lock's flock/OFD-lock addon (prebuilt .node files): loaded from node_modules.
  external: ["fs-native-extensions"],
});
// bin/driverplug's entry: `status` on a warm plugin without grpc-js, else the bundle above.
const fast = await bundlePlugin({
  entry: root("src/cli/fast/fast-main.ts"),
  out: root("dist/bundle/driverplug"),
  sourcemap: false,
  external: ["fs-native-extensions", "./driverplug-cli.cjs"],
  alias: { "@grpc/grpc-js": root("src/cli/fast/grpc-stub.ts") },
  plugins: [pureClientConstructors],
});
const loaded = bundledInputs.get(fast).filter((file) => /node_modules\/@grpc\/|cli\/main\.ts$/.test(file));
if (loaded.length > 0)
  throw new Error(`the fast status bundle must not hold grpc-js or the full CLI, but holds ${loaded.join(", ")}`);
const fastCode = await readFile(`${fast}.bundle.cjs`, "latin1");
if (/require\("(node:)?(http2|tls)"\)/.test(fastCode))
  throw new Error(
    "the fast status bundle loads node:http2 or node:tls: its calls go through src/cli/fast/h2-client.ts",
  );
if (fastCode.includes("DriverServiceService"))
  throw new Error(
    "the fast status bundle holds the generated service definitions: pureClientConstructors no longer matches generated/",
  );
// The CLI's caches are made by the commands users run most, in a scratch store:
// `ls` for the full CLI (its whole set-up, the store, a warm plugin reused,
// the batch query), and for the entry a `status` its fast path answers.
// Short names: the plugin's socket path is made under XDG_RUNTIME_DIR.
const scratch = await mkdtemp(join(tmpdir(), "dpb-"));
const scratchEnv = {
  DRIVERPLUG_STORE: join(scratch, "s"),
  XDG_RUNTIME_DIR: join(scratch, "r"),
  DRIVERPLUG_WARM: "60",
};
await mkdir(scratchEnv.XDG_RUNTIME_DIR, { mode: 0o700 });
try {
  await runScratchCli(["create", "--driver", "fake", "m1"]);
  await writeCodeCache(cli, { command: true, args: ["ls", "--json"], env: scratchEnv });
  await writeCodeCache(fast, { command: true, args: ["status", "m1"], env: scratchEnv });
} finally {
  // The warm plugin ends by itself within DRIVERPLUG_WARM anyway; this ends it now.
  await runScratchCli(["plugins", "stop"]).catch(() => undefined);
  await rm(scratch, { recursive: true, force: true });
}

/** The full CLI in the scratch store, leaving its code cache alone. */
async function runScratchCli(args) {
  const child = spawn(process.execPath, [`${cli}.cjs`, ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("DRIVERPLUG_"))),
      ...scratchEnv,
      DRIVERPLUG_NO_CODE_CACHE: "1",
    },
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const [code, signal] = await once(child, "close");
  if (code !== 0)
    throw new Error(`driverplug ${args.join(" ")} (for the code caches) exited with ${signal ?? code}:\n${stderr}`);
}
