// Lists every driver plugin the CLI can find, in the host's lookup order
// (bundled, then plugin dirs, then PATH); a later one with the same name is
// shadowed by the first, as findPlugin would pick the first.
import { constants } from "node:fs";
import { access, readdir, stat } from "node:fs/promises";
import { delimiter, isAbsolute, join } from "node:path";
import { BUNDLED_DRIVERS, bundledDriverPath } from "../host/bundled-drivers.js";
import { PLUGIN_PREFIX } from "../host/find-plugin.js";

export interface FoundDriver {
  name: string;
  path: string;
  source: "bundled" | "plugin dir" | "PATH";
  /** True when an earlier place has a driver of the same name. */
  shadowed: boolean;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function pluginsIn(dir: string): Promise<{ name: string; path: string }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: { name: string; path: string }[] = [];
  for (const file of names.sort()) {
    if (!file.startsWith(PLUGIN_PREFIX) || file.length === PLUGIN_PREFIX.length) continue;
    const path = join(dir, file);
    if (await isExecutable(path)) out.push({ name: file.slice(PLUGIN_PREFIX.length), path });
  }
  return out;
}

export async function scanDrivers(pluginDirs: readonly string[], pathEnv: string): Promise<FoundDriver[]> {
  const found: FoundDriver[] = [];
  const seen = new Set<string>();
  const add = (name: string, path: string, source: FoundDriver["source"]) => {
    found.push({ name, path, source, shadowed: seen.has(name) });
    seen.add(name);
  };
  for (const name of BUNDLED_DRIVERS) {
    const path = bundledDriverPath(name);
    if (path !== undefined && (await isExecutable(path))) add(name, path, "bundled");
  }
  for (const dir of pluginDirs.filter((d) => isAbsolute(d)))
    for (const p of await pluginsIn(dir)) add(p.name, p.path, "plugin dir");
  for (const dir of pathEnv.split(delimiter).filter((d) => d !== "" && isAbsolute(d)))
    for (const p of await pluginsIn(dir)) add(p.name, p.path, "PATH");
  return found;
}
