// Where the driverplug package lives on disk (its package.json, proto/, bin/,
// scripts/), for the plugin's reflection service, the bundled drivers and
// `driverplug bundle`. One walk: up from this module (src/ under a TypeScript
// runner, dist/src/, or a bundle in dist/bundle/) to the folder whose
// package.json names driverplug; for a driver author's bundle that lives
// elsewhere, the driverplug package installed next to it.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_NAME = "driverplug";

let found: string | undefined;

function namesDriverplug(dir: string): boolean {
  const manifest = join(dir, "package.json");
  if (!existsSync(manifest)) return false;
  try {
    return (JSON.parse(readFileSync(manifest, "utf8")) as { name?: unknown }).name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

function walkUp(start: string): string | undefined {
  for (let dir = dirname(start); ; dir = dirname(dir)) {
    if (namesDriverplug(dir)) return dir;
    if (dir === dirname(dir)) return undefined;
  }
}

/** The main file of the driverplug package that `from` would import, if any. */
function installedDriverplug(from: string): string | undefined {
  try {
    return createRequire(from).resolve(PACKAGE_NAME);
  } catch {
    return undefined;
  }
}

/** The driverplug package's root folder; throws a sentence saying where it looked. */
export function findPackageRoot(): string {
  if (found !== undefined) return found;
  const here = fileURLToPath(import.meta.url);
  let root = walkUp(here);
  if (root === undefined) {
    const installed = installedDriverplug(here);
    if (installed !== undefined) root = walkUp(installed);
  }
  if (root === undefined) {
    throw new Error(
      `cannot find the driverplug package above ${here}, nor an installed driverplug package next to it; install driverplug whole (it ships package.json, proto/ and bin/)`,
    );
  }
  return (found = root);
}
