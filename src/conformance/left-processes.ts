// What a check's plugins left running. The plugin under test is untrusted,
// and a driver whose children outlive it (a helper, a `sleep` in the
// background, a process in a session of its own) leaks them on every host.
// Each plugin's descendants are noted when the kit closes or kills it (a
// /proc walk by parent pid, each process known by its start time so a reused
// pid is never mistaken for it); what the host found left in the plugin's
// process group and ended is added. When the check's cleanup is done (its
// machine removed), a noted process still alive after a short grace is left
// behind: the check fails saying which, and the kit ends it, unless the
// driver's profile or the caller names it as a daemon meant to outlive its
// plugins.
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { GroupMember } from "../host/process-group.js";
import { quote } from "./expectations.js";

interface NotedProcess {
  pid: number;
  startTime: string;
  command: string;
}

interface ProcStat {
  ppid: number;
  startTime: string;
}

function procStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // A zombie is dead already: its parent (or init) reaps it.
    if (fields[0] === "Z") return undefined;
    return { ppid: Number(fields[1]), startTime: fields[19] ?? "" };
  } catch {
    return undefined;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/** Every live descendant of `root`, from /proc (empty where there is none). */
export function descendantsOf(root: number): NotedProcess[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const stats = new Map<number, ProcStat>();
  for (const entry of entries) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const pid = Number(entry);
    const st = procStat(pid);
    if (!st) continue;
    stats.set(pid, st);
    const list = children.get(st.ppid) ?? [];
    list.push(pid);
    children.set(st.ppid, list);
  }
  const out: NotedProcess[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push({ pid, startTime: stats.get(pid)!.startTime, command: commandOf(pid) });
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

function stillThere(p: NotedProcess): boolean {
  return procStat(p.pid)?.startTime === p.startTime;
}

function describe(pid: number, command: string): string {
  return pid > 0 ? `pid ${pid} ${quote(command)}` : quote(command);
}

export class LeftProcesses {
  private readonly noted = new Map<number, NotedProcess>();
  private readonly ended: { pid: number; command: string }[] = [];

  /** Notes the descendants `pid` has now; called just before the kit closes or kills a plugin. */
  note(pid: number): void {
    if (pid <= 0) return;
    for (const p of descendantsOf(pid)) this.noted.set(p.pid, p);
  }

  /** What the host found in a closed plugin's process group and ended (PluginHandle.leftBehind). */
  endedByHost(members: readonly GroupMember[]): void {
    for (const m of members) {
      this.noted.delete(m.pid);
      this.ended.push(m);
    }
  }

  /**
   * Once the check is cleaned up: every noted process still alive after
   * `graceMs` is ended (SIGKILL) and, with those the host ended, described.
   * A process whose command line matches `allowed` (a daemon the driver
   * starts for every plugin to share, as libvirt's session daemon) is left
   * alone.
   */
  async report(graceMs: number, allowed?: RegExp): Promise<string[]> {
    const end = Date.now() + graceMs;
    let alive = [...this.noted.values()].filter((p) => !allowed?.test(p.command) && stillThere(p));
    while (alive.length > 0 && Date.now() < end) {
      await sleep(50);
      alive = alive.filter(stillThere);
    }
    // The host ends what is in a plugin's group whatever it is; a shared daemon belongs in a session of its own.
    const out = this.ended.filter((m) => !allowed?.test(m.command)).map((m) => describe(m.pid, m.command));
    for (const p of alive) {
      try {
        if (stillThere(p)) process.kill(p.pid, "SIGKILL");
      } catch {
        // Gone meanwhile.
      }
      out.push(describe(p.pid, p.command));
    }
    this.noted.clear();
    this.ended.length = 0;
    return out;
  }
}
