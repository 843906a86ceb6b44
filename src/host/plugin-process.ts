// The plugin's process as the host sees it: a child it launched (whose exit
// it hears at once and reaps) or, after reattach, a bare pid it can only
// signal and poll. close() and death reporting work on either.
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { processStartTime } from "./socket-holder.js";
import type { StderrTail } from "./stderr-tail.js";
import { endLeftGroup, groupHasMembers, signalGroup, type GroupMember } from "./process-group.js";

export interface PluginExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface PluginProcess {
  readonly pid: number;
  /** True once the process is known to be gone. */
  gone(): boolean;
  /** Resolves true if the process is gone within `ms`, else false. */
  waitGone(ms: number): Promise<boolean>;
  signal(sig: NodeJS.Signals): void;
  /** "plugin fake (pid 12) exited with code 1; last stderr lines: ..." once gone. */
  describeDeath(): string;
  /** From now on a death is reported as caused by the host's close(). */
  noteClosedByHost(): void;
  /** The exit code or signal, when known (only for a child this host launched). */
  readonly exit: PluginExit | undefined;
  /**
   * Once the process is gone: ends what it left in its process group
   * (process-group.ts) and says what that was. Only for a launched plugin.
   */
  endLeftovers?(termGraceMs: number): Promise<GroupMember[]>;
}

export function describeExit(exit: PluginExit): string {
  if (exit.signal) return `was killed by signal ${exit.signal}`;
  return `exited with code ${exit.code}`;
}

/**
 * A child this host launched, leading its own process group: 'exit' tells us
 * of its death with no delay. SIGKILL goes to the whole group; SIGTERM to the
 * plugin alone, whose own stop path ends its children.
 */
export class ChildPluginProcess implements PluginProcess {
  readonly pid: number;
  private exitInfo: PluginExit | undefined;
  readonly exited: Promise<PluginExit>;
  /** Set by close(), so a death we caused reads as such. */
  private closedByHost = false;

  constructor(
    private readonly label: string,
    private readonly child: ChildProcess,
    private readonly tail: StderrTail,
  ) {
    this.pid = child.pid ?? -1;
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  get exit(): PluginExit | undefined {
    return this.exitInfo;
  }

  gone(): boolean {
    return this.exitInfo !== undefined;
  }

  async waitGone(ms: number): Promise<boolean> {
    if (this.exitInfo) return true;
    const ac = new AbortController();
    const result = await Promise.race([
      this.exited.then(() => true),
      sleep(ms, false, { signal: ac.signal }).catch(() => false),
    ]);
    ac.abort();
    return result;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.exitInfo) {
      // The plugin is reaped: its group id is safe to signal only while the group has members.
      if (sig === "SIGKILL" && this.pid > 0 && groupHasMembers(this.pid)) signalGroup(this.pid, sig);
      return;
    }
    // Not yet reaped, the plugin holds its group id: nothing else can have it.
    if (sig === "SIGKILL" && this.pid > 0 && signalGroup(this.pid, sig)) return;
    this.child.kill(sig);
  }

  async endLeftovers(termGraceMs: number): Promise<GroupMember[]> {
    await this.exited;
    return this.pid > 0 ? endLeftGroup(this.pid, termGraceMs) : [];
  }

  noteClosedByHost(): void {
    this.closedByHost = true;
  }

  describeDeath(): string {
    const what = this.exitInfo ? describeExit(this.exitInfo) : "is gone";
    const cause = this.closedByHost ? " after the host closed it" : "";
    return `plugin ${this.label} (pid ${this.pid}) ${what}${cause}${this.tail.describe()}`;
  }
}

/** True while `pid` runs (a zombie does not count). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  return !isZombie(pid);
}

/** A dead process its parent has not reaped yet still answers kill(pid, 0); Linux's /proc tells. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}

/**
 * A plugin another host process launched. With no parent-child link there is
 * no exit event, so its death is found by polling the pid.
 */
export class ReattachedPluginProcess implements PluginProcess {
  private isGone = false;

  /**
   * `startTime`: the pid's start time when reattach tied it to the plugin's
   * socket (socket-holder.ts); a signal goes only to the process that still
   * has it, never to a pid reused since. Undefined: never signalled.
   */
  constructor(
    private readonly label: string,
    readonly pid: number,
    private readonly startTime: string | undefined,
    private readonly pollMs = 20,
  ) {}

  private samePlugin(): boolean {
    return this.startTime !== undefined && processStartTime(this.pid) === this.startTime;
  }

  gone(): boolean {
    if (!this.isGone && (!processAlive(this.pid) || (this.startTime !== undefined && !this.samePlugin())))
      this.isGone = true;
    return this.isGone;
  }

  async waitGone(ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (!this.gone()) {
      if (Date.now() >= end) return false;
      await sleep(this.pollMs);
    }
    return true;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.gone() || !this.samePlugin()) return;
    try {
      process.kill(this.pid, sig);
    } catch {
      this.isGone = true;
    }
  }

  readonly exit = undefined;

  noteClosedByHost(): void {}

  describeDeath(): string {
    return `plugin ${this.label} (pid ${this.pid}, reattached) is gone; its exit status went to the host that launched it`;
  }
}
