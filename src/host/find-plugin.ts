// Finds the executable of a driver plugin by name: bundled drivers first,
// then `driverplug-driver-<name>` in the configured plugin dirs, then PATH.
// Every candidate passes checkPluginExecutable(): one another user could have
// planted or changed is refused, with the fix, rather than skipped. A miss is
// an error listing each place looked once, with what was found there and, for
// a near name, "did you mean".
import { promises as fs } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { assertDriverName } from "../socket/socket-path.js";
import { BUNDLED_DRIVERS, bundledDriverPath } from "./bundled-drivers.js";
import { LaunchError } from "./launch-error.js";
import { checkPluginExecutable, type ExecutableVerdict } from "./plugin-executable.js";

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

export interface SearchPlace {
  dir: string;
  source: "plugin dir" | "PATH";
}

/** Names become file and socket names: socket/'s safe alphabet, as a LaunchError. */
export function assertPluginName(name: string): void {
  try {
    assertDriverName(name);
  } catch (err) {
    throw new LaunchError("not-found", (err as Error).message, { cause: err });
  }
}

/** The plugin dirs, then PATH's absolute entries, each directory once, in order. */
export function searchPlaces(options: FindOptions): SearchPlace[] {
  const places: SearchPlace[] = [];
  const seen = new Set<string>();
  const add = (dir: string, source: SearchPlace["source"]) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    places.push({ dir, source });
  };
  for (const dir of options.pluginDirs ?? []) {
    if (!isAbsolute(dir)) {
      throw new LaunchError("not-found", `plugin dir ${JSON.stringify(dir)} is relative; give absolute plugin dirs`);
    }
    add(dir, "plugin dir");
  }
  // Relative PATH entries would make the result depend on the working directory: skipped.
  for (const dir of (options.path ?? process.env.PATH ?? "").split(delimiter)) {
    if (dir !== "" && isAbsolute(dir)) add(dir, "PATH");
  }
  return places;
}

function refuse(name: string, verdict: ExecutableVerdict & { usable: false }): LaunchError {
  return new LaunchError("untrusted-executable", `driver plugin ${JSON.stringify(name)} was not run: ${verdict.why}`);
}

export async function findPlugin(name: string, options: FindOptions = {}): Promise<FoundPlugin> {
  assertPluginName(name);
  const file = `${PLUGIN_PREFIX}${name}`;
  const looked: string[] = [];
  if (options.bundled ?? true) {
    const bundled = bundledDriverPath(name);
    if (bundled !== undefined) {
      const verdict = await checkPluginExecutable(bundled);
      if (verdict.usable) return { name, path: bundled, source: "bundled" };
      if (verdict.kind === "untrusted") throw refuse(name, verdict);
      looked.push(`${bundled} (bundled)${verdict.kind === "not-executable" ? `: ${verdict.why}` : ""}`);
    }
  }
  const places = searchPlaces(options);
  for (const { dir, source } of places) {
    const path = join(dir, file);
    const verdict = await checkPluginExecutable(path);
    if (verdict.usable) return { name, path, source };
    if (verdict.kind === "untrusted") throw refuse(name, verdict);
    looked.push(`${path} (${source})${verdict.kind === "not-executable" ? `: ${verdict.why}` : ""}`);
  }
  const where =
    looked.length === 0 ? "  (no plugin dirs configured and PATH is empty)" : looked.map((p) => `  ${p}`).join("\n");
  const near = await nearNames(name, places, options.bundled ?? true);
  const hint = near.length === 0 ? "" : `did you mean ${near.map((n) => `\`${n}\``).join(" or ")}? `;
  throw new LaunchError(
    "not-found",
    `driver plugin ${JSON.stringify(name)} not found: no executable ${file} in any of these places:\n${where}\n` +
      `${hint}install the plugin into one of them, or add its folder to the host's plugin dirs`,
  );
}

/** Driver names in the search places (and bundled) within two edits of `name`, or that contain it. */
async function nearNames(name: string, places: readonly SearchPlace[], bundled: boolean): Promise<string[]> {
  const names = new Set<string>(bundled ? BUNDLED_DRIVERS : []);
  for (const { dir } of places) {
    for (const file of await fs.readdir(dir).catch(() => [] as string[])) {
      if (file.startsWith(PLUGIN_PREFIX) && file.length > PLUGIN_PREFIX.length)
        names.add(file.slice(PLUGIN_PREFIX.length));
    }
  }
  return [...names]
    .filter(
      (n) =>
        n !== name &&
        (editDistance(n, name) <= Math.min(2, Math.floor(name.length / 2)) ||
          (Math.min(n.length, name.length) >= 3 && (n.includes(name) || name.includes(n)))),
    )
    .sort()
    .slice(0, 3);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
