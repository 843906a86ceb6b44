// A launched plugin leads a process group of its own (spawned detached), so
// whatever it starts without leaving the group (a helper, a `sleep` a shell
// put in the background) can be found and ended with it. The plugin's own stop
// path comes first: close() asks it to shut down and only then looks for what
// is left in its group. A child that made a session of its own (setsid, as a
// VM meant to outlive its plugin does) has left the group on purpose and is
// not touched.
//
// Signalling -pgid is safe while the group has a member: a group id stays
// taken, and is never given to a new process, as long as any process is in
// the group. Members are read from /proc (Linux); elsewhere only the plugin's
// own death takes the group down (SIGKILL to the group while the plugin is
// not yet reaped).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** A process found in a plugin's group after the plugin itself was gone. */
export interface GroupMember {
  pid: number;
  /** Its command line, cut to 200 characters (the plugin's text: untrusted, shown escaped). */
  command: string;
}

/** Whether any process is in group `pgid` (kill(-pgid, 0), no /proc needed). */
export function groupHasMembers(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    // EPERM: there is a member, of another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The live (not zombie) processes of group `pgid`, from /proc. */
export function groupMembers(pgid: number): GroupMember[] {
  const out: GroupMember[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (!/^[0-9]+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    // After the command name (in parentheses, which may hold anything): state, ppid, pgrp.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) !== pgid || fields[0] === "Z") continue;
    let command = "";
    try {
      command = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").trim();
    } catch {
      // Gone meanwhile.
    }
    out.push({ pid: Number(entry), command: command.length > 200 ? `${command.slice(0, 200)}...` : command });
  }
  return out;
}

/** Sends `sig` to every process of group `pgid`; false when there was none. */
export function signalGroup(pgid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false;
  }
}

const hasProc = existsSync("/proc/self/stat");

/** Live members: from /proc where there is one (zombies, which init reaps, do not count), else kill(-pgid, 0). */
function anyLive(pgid: number): boolean {
  return hasProc ? groupMembers(pgid).length > 0 : groupHasMembers(pgid);
}

async function groupGone(pgid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (anyLive(pgid)) {
    if (Date.now() >= end) return false;
    await sleep(20);
  }
  return true;
}

/**
 * Ends what is left of group `pgid` once its leader (the plugin) is gone and
 * reaped: SIGTERM, `termGraceMs` to go, then SIGKILL. Returns what was found.
 */
export async function endLeftGroup(pgid: number, termGraceMs: number): Promise<GroupMember[]> {
  // Cheap first: no process in the group at all (no /proc scan).
  if (!groupHasMembers(pgid)) return [];
  const found = hasProc ? groupMembers(pgid) : [{ pid: -1, command: "(processes of the plugin's group)" }];
  if (found.length === 0) return [];
  signalGroup(pgid, "SIGTERM");
  if (!(await groupGone(pgid, termGraceMs))) {
    signalGroup(pgid, "SIGKILL");
    await groupGone(pgid, 5_000);
  }
  return found;
}
