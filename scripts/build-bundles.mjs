// `make build`'s bundle step: the bundled drivers' plugin executables (fake,
// qemu, libvirt) and the driverplug CLI as code-cached bundles in dist/bundle/
// (bundle-plugin.mjs), run by bin/driverplug-driver-<name> and bin/driverplug:
// the CLI is two bundles, a small entry that answers `status` on a warm plugin
// (src/cli/fast/) and the full CLI it loads for everything else.
// No source maps: the package ships these bundles, and their maps would point
// at node_modules sources that are not there (and weigh several MB); the code
// keeps its names.
import { readFile } from "node:fs/promises";
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
// `--help` runs the CLI's whole set-up (commands, options) without touching any machine.
await writeCodeCache(cli, { command: true, args: ["--help"] });
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
if (fastCode.includes("DriverServiceService"))
  throw new Error(
    "the fast status bundle holds the generated service definitions: pureClientConstructors no longer matches generated/",
  );
// A `status` that finds no machine store declines and runs the full CLI: both bundles' code runs.
await writeCodeCache(fast, { command: true, args: ["status", "--help"] });
