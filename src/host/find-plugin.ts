// Finds the executable of a driver plugin by name: bundled drivers first,
// then `driverplug-driver-<name>` in the configured plugin dirs, then PATH.
// A miss is an error listing every place looked.
import { constants, promises as fs } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { assertDriverName } from "../socket/socket-path.js";
import { bundledDriverPath } from "./bundled-drivers.js";
import { LaunchError } from "./launch-error.js";

export const PLUGIN_PREFIX = "driverplug-driver-";

export interface FindOptions {
  /** Searched in order before PATH. Relative entries are refused. */
  pluginDirs?: readonly string[];
  /** The PATH to search; default process.env.PATH. Pass "" to skip PATH. */
  path?: string;
  /** Whether bundled drivers (e.g. "fake") resolve to this package's own executables; default true. */
  bundled?: boolean;
}

export interface FoundPlugin {
  name: string;
  path: string;
  source: "bundled" | "plugin dir" | "PATH";
}

/** Names become file and socket names: socket/'s safe alphabet, as a LaunchError. */
export function assertPluginName(name: string): void {
  try {
    assertDriverName(name);
  } catch (err) {
    throw new LaunchError("not-found", (err as Error).message, { cause: err });
  }
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const st = await fs.stat(path);
    if (!st.isFile()) return false;
    await fs.access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function findPlugin(name: string, options: FindOptions = {}): Promise<FoundPlugin> {
  assertPluginName(name);
  const file = `${PLUGIN_PREFIX}${name}`;
  const looked: string[] = [];
  if (options.bundled ?? true) {
    const bundled = bundledDriverPath(name);
    if (bundled !== undefined) {
      if (await isExecutableFile(bundled)) return { name, path: bundled, source: "bundled" };
      looked.push(`${bundled} (bundled)`);
    }
  }
  const candidates: { dir: string; source: FoundPlugin["source"] }[] = [];
  for (const dir of options.pluginDirs ?? []) {
    if (!isAbsolute(dir)) {
      throw new LaunchError("not-found", `plugin dir ${JSON.stringify(dir)} is relative; give absolute plugin dirs`);
    }
    candidates.push({ dir, source: "plugin dir" });
  }
  // Relative PATH entries would make the result depend on the working directory: skipped.
  for (const dir of (options.path ?? process.env.PATH ?? "").split(delimiter)) {
    if (dir !== "" && isAbsolute(dir)) candidates.push({ dir, source: "PATH" });
  }
  for (const { dir, source } of candidates) {
    const path = join(dir, file);
    if (await isExecutableFile(path)) return { name, path, source };
    looked.push(`${path} (${source})`);
  }
  const where =
    looked.length === 0 ? "  (no plugin dirs configured and PATH is empty)" : looked.map((p) => `  ${p}`).join("\n");
  throw new LaunchError(
    "not-found",
    `driver plugin ${JSON.stringify(name)} not found: no executable ${file} in any of these places:\n${where}\n` +
      `install the plugin into one of them, or add its folder to the host's plugin dirs`,
  );
}
