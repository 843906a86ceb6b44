// The plugin started by hand, as the protocol checks need it: with or without
// the cookie, in a socket directory of the check's choosing, with every byte
// of stdout and stderr kept, so the check can judge the plugin's own
// behaviour rather than the host's reaction to it. The check's cleanup stack
// SIGKILLs it if it is still there.
import { spawn, type ChildProcess } from "node:child_process";
import { PLUGIN_PROTOCOL_VERSIONS, PLUGIN_UNIX_SOCKET_DIR } from "../protocol/env.js";
import { PROTOCOL_VERSIONS } from "../protocol/versions.js";
import type { CheckContext } from "./check-context.js";
import { endLeftGroup, signalGroup } from "../host/process-group.js";
import type { LeftProcesses } from "./left-processes.js";

/** Variables a host sets for its plugin; inherited ones would change what the check tests. */
const PROTOCOL_ENV = [
  "PLUGIN_PROTOCOL_VERSIONS",
  "PLUGIN_UNIX_SOCKET_DIR",
  "PLUGIN_UNIX_SOCKET_GROUP",
  "PLUGIN_CLIENT_CERT",
  "PLUGIN_MULTIPLEX_GRPC",
  "MACHINE_PLUGIN_SOCKET_DIR",
  "DRIVERPLUG_STDIN_LIFELINE",
];

const MAX_KEPT = 256 * 1024;

export interface RawSpawnOptions {
  /** The plugin's PLUGIN_UNIX_SOCKET_DIR. */
  socketDir: string;
  cookie?: boolean;
  versions?: string;
  env?: Record<string, string>;
}

export class RawPlugin {
  stdout = "";
  stderr = "";
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<void>;
  private readonly lineWaiters: (() => void)[] = [];

  /**
   * `left`: where leftovers are noted (the check's). `group`: the child leads
   * its own process group (spawnRaw's plugins), which kill() ends with it.
   */
  constructor(
    readonly child: ChildProcess,
    private readonly left?: LeftProcesses,
    private readonly group = false,
  ) {
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      if (this.stdout.length < MAX_KEPT) this.stdout += d;
      for (const w of this.lineWaiters.splice(0)) w();
    });
    child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      if (this.stderr.length < MAX_KEPT) this.stderr += d;
    });
    child.stdin?.on("error", () => {});
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        for (const w of this.lineWaiters.splice(0)) w();
        resolve();
      });
      child.once("error", (err) => {
        this.stderr += `\n(spawn failed: ${err.message})`;
        this.exit ??= { code: null, signal: null };
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The first stdout line, or undefined when the plugin exits (or the wait ends) first. */
  async firstLine(timeoutMs: number): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.stdout.indexOf("\n");
      if (nl >= 0) {
        // Up and serving: what it started meanwhile is noted while it is still its parent.
        this.left?.note(this.pid);
        return this.stdout.slice(0, nl);
      }
      if (this.exit || Date.now() >= deadline) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.lineWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** True when the process exited within `ms`. */
  async waitExit(ms: number): Promise<boolean> {
    if (this.exit) return true;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise<void>((resolve) => (t = setTimeout(resolve, ms)))]);
    clearTimeout(t);
    return this.exit !== undefined;
  }

  /** How it ended, for messages. */
  describeExit(): string {
    if (!this.exit) return "is still running";
    return this.exit.signal ? `was killed by ${this.exit.signal}` : `exited with code ${this.exit.code}`;
  }

  async kill(): Promise<void> {
    this.left?.note(this.pid);
    if (!this.exit) {
      // Unreaped, the plugin holds its group id: the whole group goes with it.
      if (this.group && this.pid > 0) signalGroup(this.pid, "SIGKILL");
      else this.child.kill("SIGKILL");
      await this.exited;
    }
    if (this.group && this.pid > 0) this.left?.endedByHost(await endLeftGroup(this.pid, 0));
  }
}

/** The plugin's environment as a host would make it (cookie, versions, socket dir), minus what the check leaves out. */
export function pluginEnv(ctx: CheckContext, options: RawSpawnOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...ctx.settings.env, ...options.env };
  for (const name of PROTOCOL_ENV) if (!options.env || !(name in options.env)) delete env[name];
  delete env[ctx.settings.cookie.key];
  if (options.cookie !== false) env[ctx.settings.cookie.key] = ctx.settings.cookie.value;
  env[PLUGIN_PROTOCOL_VERSIONS] = options.versions ?? PROTOCOL_VERSIONS.join(",");
  env[PLUGIN_UNIX_SOCKET_DIR] = options.socketDir;
  return env;
}

/** Starts the plugin by hand; the check's cleanup kills it. */
export function spawnRaw(ctx: CheckContext, options: RawSpawnOptions): RawPlugin {
  const child = spawn(ctx.settings.executable, [], {
    env: pluginEnv(ctx, options),
    stdio: ["pipe", "pipe", "pipe"],
    // Its own process group, as launch() gives a plugin: what it leaves is found and ended.
    detached: true,
  });
  const plugin = new RawPlugin(child, ctx.left, true);
  ctx.defer(`kill plugin pid ${plugin.pid}`, () => plugin.kill());
  return plugin;
}
