// Lists every driver plugin the CLI can find, in the host's lookup order
// (bundled, then plugin dirs, then PATH); a later one with the same name is
// shadowed by the first, as findPlugin would pick (or refuse) the first.
// Candidates findPlugin would refuse are listed with the reason.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { BUNDLED_DRIVERS, bundledDriverPath } from "../host/bundled-drivers.js";
import { PLUGIN_PREFIX, searchPlaces } from "../host/find-plugin.js";
import { checkPluginExecutable } from "../host/plugin-executable.js";

export interface FoundDriver {
  name: string;
  path: string;
  source: "bundled" | "plugin dir" | "PATH";
  /** True when an earlier place has a driver of the same name. */
  shadowed: boolean;
  /** Why it would not be run (untrusted, or not executable); absent for a usable plugin. */
  refused?: string;
}

async function candidatesIn(dir: string): Promise<{ name: string; path: string }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  return names
    .sort()
    .filter((file) => file.startsWith(PLUGIN_PREFIX) && file.length > PLUGIN_PREFIX.length)
    .map((file) => ({ name: file.slice(PLUGIN_PREFIX.length), path: join(dir, file) }));
}

export async function scanDrivers(pluginDirs: readonly string[], pathEnv: string): Promise<FoundDriver[]> {
  const found: FoundDriver[] = [];
  const seen = new Set<string>();
  const consider = async (name: string, path: string, source: FoundDriver["source"]) => {
    const verdict = await checkPluginExecutable(path);
    if (!verdict.usable && verdict.kind === "missing") return;
    const refused = verdict.usable ? undefined : verdict.why;
    found.push({ name, path, source, shadowed: seen.has(name), ...(refused === undefined ? {} : { refused }) });
    // findPlugin passes over a file that is not executable, but stops at (and refuses) an untrusted one.
    if (verdict.usable || verdict.kind === "untrusted") seen.add(name);
  };
  for (const name of BUNDLED_DRIVERS) {
    const path = bundledDriverPath(name);
    if (path !== undefined) await consider(name, path, "bundled");
  }
  const places = searchPlaces({ pluginDirs: pluginDirs.filter((d) => d.startsWith("/")), path: pathEnv });
  for (const { dir, source } of places) for (const c of await candidatesIn(dir)) await consider(c.name, c.path, source);
  return found;
}
