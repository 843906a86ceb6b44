// Whether a plugin executable found by name may be run: it must be a regular
// executable file, and nobody but root and this user may have been able to
// put it there or change it. Its real path (symlinks resolved) must be owned
// by root or the user and not be writable by group or others; the directory
// it was found in and the one it really lives in must be the same (owned by
// root or the user, not writable by group or others, sticky or not: the
// attack is creating a new file there); their ancestors pass the socket
// directories' StrictModes check. findPlugin() and `driverplug drivers` both
// ask this one function, so what runs and what is listed agree.
import { createHash } from "node:crypto";
import { constants, promises as fs, type Stats } from "node:fs";
import { dirname } from "node:path";
import { checkAncestors, effectiveUid } from "../socket/private-dir.js";

export type ExecutableVerdict =
  | { usable: true; realPath: string }
  /** Nothing there (or not a file): not a candidate at all. */
  | { usable: false; kind: "missing"; why: string }
  /** A file that cannot be run: the user probably forgot chmod +x. */
  | { usable: false; kind: "not-executable"; why: string }
  /** Someone other than root or the user could have written it: refused. */
  | { usable: false; kind: "untrusted"; why: string };

const octal = (mode: number) => `0${(mode & 0o7777).toString(8)}`;

export async function checkPluginExecutable(path: string): Promise<ExecutableVerdict> {
  let st: Stats;
  try {
    st = await fs.stat(path);
  } catch {
    return { usable: false, kind: "missing", why: `${path} does not exist` };
  }
  if (!st.isFile()) return { usable: false, kind: "missing", why: `${path} is not a regular file` };
  const executable = await fs.access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
  if (!executable) {
    return {
      usable: false,
      kind: "not-executable",
      why: `${path} exists but is not executable (mode ${octal(st.mode)}): chmod +x ${path}`,
    };
  }
  const realPath = await fs.realpath(path);
  const uid = effectiveUid();
  const untrusted = (why: string): ExecutableVerdict => ({ usable: false, kind: "untrusted", why });
  const problem = ownerProblem(realPath, st, uid, "plugin");
  if (problem) return untrusted(problem);
  const dirs = new Set([dirname(realPath), await fs.realpath(dirname(path)).catch(() => dirname(path))]);
  for (const dir of dirs) {
    const dst = await fs.stat(dir);
    const dirProblem = ownerProblem(dir, dst, uid, "plugin directory");
    if (dirProblem) return untrusted(`${dirProblem}; anyone who can write it can put a plugin there`);
    try {
      await checkAncestors(dir, uid, "plugin directory");
    } catch (err) {
      return untrusted((err as Error).message);
    }
  }
  return { usable: true, realPath };
}

/**
 * The executable's SHA-256 (hex) must be `expected`, as go-plugin's
 * SecureConfig pins a plugin. Checked just before the spawn, which opens the
 * file again: with the ownership checks above, only root or the user could
 * swap it in between.
 */
export async function checkPinnedDigest(path: string, expected: string): Promise<string | undefined> {
  if (!/^[0-9a-f]{64}$/i.test(expected)) {
    return `the pinned SHA-256 ${JSON.stringify(expected)} is not 64 hex digits (sha256sum prints it)`;
  }
  const actual = createHash("sha256")
    .update(await fs.readFile(path))
    .digest("hex");
  if (actual === expected.toLowerCase()) return undefined;
  return `${path} has SHA-256 ${actual}, not the pinned ${expected.toLowerCase()}: it changed since it was pinned; check where it came from, then pin the new digest`;
}

/** Owned by root or `uid`, and not writable by group or others (sticky does not help: new files are the attack). */
function ownerProblem(path: string, st: Stats, uid: number, what: string): string | undefined {
  if (st.uid !== 0 && st.uid !== uid) {
    return `${what} ${path} is owned by uid ${st.uid}, neither root nor this user (uid ${uid}), so its owner could change what runs: chown it, or install the plugin somewhere you own`;
  }
  if ((st.mode & 0o022) !== 0) {
    return `${what} ${path} has mode ${octal(st.mode)}, writable by group or others: chmod go-w ${path}`;
  }
  return undefined;
}
