// `make build`'s bundle step: the bundled drivers' plugin executables (fake,
// qemu, libvirt) and the driverplug CLI as code-cached bundles in dist/bundle/
// (bundle-plugin.mjs), run by bin/driverplug-driver-<name> and bin/driverplug.
// No source maps: the package ships these bundles, and their maps would point
// at node_modules sources that are not there (and weigh several MB); the code
// keeps its names.
import { fileURLToPath } from "node:url";
import { bundlePlugin, writeCodeCache } from "./bundle-plugin.mjs";

const root = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url));

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
  out: root("dist/bundle/driverplug"),
  sourcemap: false,
  // The machine lock's flock/OFD-lock addon (prebuilt .node files): loaded from node_modules.
  external: ["fs-native-extensions"],
});
// `--help` runs the CLI's whole set-up (commands, options) without touching any machine.
await writeCodeCache(cli, { command: true, args: ["--help"] });
