// Where the running driverplug came from, as a dependency spec a new driver
// project can install: the npm registry (a version range), a tarball (its
// file: path), a git URL, or a folder (a checkout). npm records what it
// installed in the project's lockfile (package-lock.json, or node_modules'
// hidden .package-lock.json), keyed by the package's path; a driverplug run
// from a folder of its own (a git checkout, an unpacked package) is that
// folder. When none of these says, the caller is told what to pass instead of
// guessing a spec that would not install.
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";

export type InstalledSpec =
  { spec: string; from: "registry" | "tarball" | "git" | "folder" | "url" } | { unknown: string };

interface LockEntry {
  version?: string;
  resolved?: string;
  link?: boolean;
}

/** The node_modules folder holding `root` (`.../node_modules/driverplug` or `.../node_modules/@scope/driverplug`), if any. */
function nodeModulesOf(root: string): string | undefined {
  const parent = dirname(root);
  if (basename(parent) === "node_modules") return parent;
  if (basename(parent).startsWith("@") && basename(dirname(parent)) === "node_modules") return dirname(parent);
  return undefined;
}

function readLockEntry(lockfile: string, key: string): LockEntry | undefined {
  try {
    const lock = JSON.parse(readFileSync(lockfile, "utf8")) as { packages?: Record<string, LockEntry> };
    return lock.packages?.[key];
  } catch {
    return undefined;
  }
}

/** A registry tarball URL: `<registry>/<name>/-/<name>-<version>.tgz`. */
function isRegistryTarball(url: string, name: string): boolean {
  const base = name.replace(/^@[^/]+\//, "");
  return new RegExp(`/${name.replace("/", "(?:/|%2[fF])")}/-/${base}-[^/]+\\.tgz$`).test(url);
}

function fromResolved(entry: LockEntry, installRoot: string, name: string): InstalledSpec | undefined {
  const resolved = entry.resolved;
  if (resolved === undefined) return undefined;
  if (/^https?:/.test(resolved)) {
    if (isRegistryTarball(resolved, name) && entry.version !== undefined)
      return { spec: `^${entry.version}`, from: "registry" };
    return { spec: resolved, from: "url" };
  }
  if (/^git(\+[a-z]+)?:|^github:/.test(resolved)) return { spec: resolved, from: "git" };
  const path = resolved.startsWith("file:") ? resolved.slice("file:".length) : resolved;
  const absolute = isAbsolute(path) ? path : resolve(installRoot, path);
  if (!existsSync(absolute))
    return {
      unknown: `this driverplug was installed from ${absolute}, which is no longer there`,
    };
  return { spec: `file:${absolute}`, from: statSync(absolute).isDirectory() ? "folder" : "tarball" };
}

/** The spec of the driverplug package whose root folder is `root` (its package.json names it `name`). */
export function installedSpec(root: string, name: string, version: string): InstalledSpec {
  const nodeModules = nodeModulesOf(root);
  if (nodeModules === undefined) {
    // Not installed by npm: a checkout or an unpacked package, usable as a folder once built.
    if (!existsSync(join(root, "dist", "src", "index.js")))
      return { unknown: `this driverplug (${root}) is not built: run \`make build\` there first` };
    return { spec: `file:${root}`, from: "folder" };
  }
  const installRoot = dirname(nodeModules);
  const key = relative(installRoot, root).split(sep).join("/");
  for (const lockfile of [
    join(installRoot, "package-lock.json"),
    join(installRoot, "npm-shrinkwrap.json"),
    join(nodeModules, ".package-lock.json"),
  ]) {
    const entry = readLockEntry(lockfile, key);
    if (entry === undefined) continue;
    const spec = fromResolved(entry, installRoot, name);
    if (spec !== undefined) return spec;
  }
  return {
    unknown: `npm left no record of where this driverplug ${version} (${root}) came from (a global install keeps none)`,
  };
}

/** A file: spec as it should stand in a project's package.json in `projectDir`: relative, as npm writes them. */
export function specFor(projectDir: string, spec: string): string {
  if (!spec.startsWith("file:")) return spec;
  const path = spec.slice("file:".length);
  const absolute = isAbsolute(path) ? path : resolve(path);
  return `file:${relative(projectDir, absolute) || "."}`;
}
