// Reclaims sockets left by plugins that died without cleaning up. A file is
// removed only if its name is one driverplug makes and connecting to it is
// refused: a live socket, or anyone else's file, is never touched.
import { promises as fs } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { parseSocketName } from "./socket-path.js";

export interface ReclaimResult {
  /** The sockets removed (a live one is left alone). */
  removed: string[];
}

export async function reclaimStaleSockets(dir: string, uid: number): Promise<ReclaimResult> {
  const result: ReclaimResult = { removed: [] };
  const names = (await fs.readdir(dir)).filter((n) => parseSocketName(n) !== undefined);
  await Promise.all(
    names.map(async (name) => {
      const path = join(dir, name);
      const st = await fs.lstat(path).catch(() => undefined);
      if (!st || !st.isSocket() || st.uid !== uid) return;
      if ((await probe(path)) === "refused") {
        await fs.unlink(path).catch(() => undefined);
        result.removed.push(path);
      }
    }),
  );
  return result;
}

/** "refused" only when nothing listens; a timeout or other error counts as live. */
function probe(path: string, timeoutMs = 500): Promise<"refused" | "live"> {
  return new Promise((resolve) => {
    const sock = connect(path);
    const done = (verdict: "refused" | "live") => {
      clearTimeout(timer);
      sock.destroy();
      resolve(verdict);
    };
    const timer = setTimeout(() => done("live"), timeoutMs);
    sock.once("connect", () => done("live"));
    sock.once("error", (err: NodeJS.ErrnoException) => done(err.code === "ECONNREFUSED" ? "refused" : "live"));
  });
}
