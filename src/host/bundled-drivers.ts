// Drivers shipped inside this package: their plugin executables live in the
// package's bin/ folder, found relative to this module's own file (so it works
// from src/ under a TypeScript runner and from dist/ alike). The host runs
// them as processes like any other plugin and never imports their code.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const BUNDLED_DRIVERS: readonly string[] = Object.freeze(["fake", "qemu"]);

let packageRoot: string | undefined;

/** The nearest ancestor folder whose package.json names this package. */
export function findPackageRoot(): string {
  if (packageRoot !== undefined) return packageRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      const name = (JSON.parse(readFileSync(manifest, "utf8")) as { name?: unknown }).name;
      if (name === "driverplug") return (packageRoot = dir);
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(
        `cannot find the driverplug package root above ${fileURLToPath(import.meta.url)}; is the package installed whole?`,
      );
    dir = parent;
  }
}

/** The executable of a bundled driver, or undefined when `name` is not bundled. */
export function bundledDriverPath(name: string): string | undefined {
  if (!BUNDLED_DRIVERS.includes(name)) return undefined;
  return join(findPackageRoot(), "bin", `driverplug-driver-${name}`);
}
