// Where a machine's lock (machine-lock.ts) and its holder's note live; also
// read by the fast status path (fast/lock-listed.ts), which must look at the
// very same file.
import { join } from "node:path";
import type { MachineStore } from "./machine-store.js";

export function lockPaths(store: MachineStore, name: string): { lockfilePath: string; holder: string } {
  const base = join(store.locksDir, name);
  return { lockfilePath: `${base}.lock`, holder: `${base}.holder.json` };
}
