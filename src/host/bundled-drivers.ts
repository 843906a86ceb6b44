// Drivers shipped inside this package: their plugin executables live in the
// package's bin/ folder (see fs/package-root.ts, which works from src/ under a
// TypeScript runner, from dist/ and from a bundle alike). The host runs
// them as processes like any other plugin and never imports their code.
import { join } from "node:path";
import { findPackageRoot } from "../fs/package-root.js";

export const BUNDLED_DRIVERS: readonly string[] = Object.freeze(["fake", "qemu", "libvirt"]);

/** The executable of a bundled driver, or undefined when `name` is not bundled. */
export function bundledDriverPath(name: string): string | undefined {
  if (!BUNDLED_DRIVERS.includes(name)) return undefined;
  return join(findPackageRoot(), "bin", `driverplug-driver-${name}`);
}
