// Runs bin/driverplug as a user would (the compiled CLI in dist/: `make build`
// first), each test with its own store and its own plugin socket base dir so
// the test can check that nothing is left in either.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

export const DRIVERPLUG = resolve(fileURLToPath(new URL("../../bin/driverplug", import.meta.url)));

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A temp store plus a private XDG_RUNTIME_DIR (where plugin sockets go). */
export class Sandbox {
  private constructor(
    readonly root: string,
    readonly store: string,
    readonly runtimeDir: string,
  ) {}

  static async create(): Promise<Sandbox> {
    const root = await mkdtemp(join(tmpdir(), "dp-"));
    // As a real XDG_RUNTIME_DIR: private to the user.
    await mkdir(join(root, "r"), { mode: 0o700 });
    return new Sandbox(root, join(root, "s"), join(root, "r"));
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      DRIVERPLUG_STORE: this.store,
      XDG_RUNTIME_DIR: this.runtimeDir,
      DRIVERPLUG_TRACE: "",
      ...extra,
    };
  }

  run(args: readonly string[], extraEnv: Record<string, string> = {}): Promise<Result> {
    return this.start(args, extraEnv).done;
  }

  start(args: readonly string[], extraEnv: Record<string, string> = {}): Running {
    return new Running(spawn(DRIVERPLUG, args, { env: this.env(extraEnv), stdio: ["ignore", "pipe", "pipe"] }));
  }

  /** The sandbox's own plugin folder (for DRIVERPLUG_PLUGIN_DIRS), holding `driverplug-driver-<name>` running `fixture`. */
  async installPlugin(name: string, fixture: string): Promise<string> {
    const dir = join(this.root, "plugins");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `driverplug-driver-${name}`);
    await writeFile(path, `#!/bin/sh\nexec '${fixture}' "$@"\n`, { mode: 0o755 });
    return dir;
  }

  configPath(machine: string): string {
    return join(this.store, "machines", machine, "config.json");
  }

  async machines(): Promise<string[]> {
    return (await readdir(join(this.store, "machines")).catch(() => [])).sort();
  }

  /** Files left in the locks dir (a released lock leaves none). */
  async locks(): Promise<string[]> {
    return (await readdir(join(this.store, "locks")).catch(() => [])).sort();
  }

  /** Private plugin dirs left under the socket base dir (a closed plugin leaves none). */
  async pluginDirs(): Promise<string[]> {
    return readdir(join(this.runtimeDir, "driverplug")).catch(() => []);
  }

  async readConfig(machine: string): Promise<{ version: number; driver: string; config: Record<string, unknown> }> {
    return JSON.parse(await readFile(this.configPath(machine), "utf8"));
  }

  async dispose(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

/** A driverplug process in flight, whose output can be awaited line by line. */
export class Running {
  stdout = "";
  stderr = "";
  readonly done: Promise<Result>;
  private readonly waiters: { pattern: RegExp; resolve: () => void }[] = [];

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding("utf8").on("data", (s: string) => {
      this.stdout += s;
      this.wake();
    });
    child.stderr!.setEncoding("utf8").on("data", (s: string) => {
      this.stderr += s;
      this.wake();
    });
    this.done = new Promise((resolveDone) => {
      child.once("close", (code, signal) => {
        this.wake();
        resolveDone({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves once stderr matches; fails if the process ends first. */
  waitForStderr(pattern: RegExp): Promise<void> {
    if (pattern.test(this.stderr)) return Promise.resolve();
    return new Promise((resolveWait, reject) => {
      this.waiters.push({ pattern, resolve: resolveWait });
      void this.done.then(() => {
        if (!pattern.test(this.stderr))
          reject(new Error(`driverplug ended before its stderr matched ${pattern}; stderr was:\n${this.stderr}`));
      });
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) {
      if (w.pattern.test(this.stderr)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }
}

/** Pids of the live children of `pid`, read from /proc. */
export async function childPids(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[1]) === pid) out.push(Number(entry));
  }
  return out;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs a command that must succeed; a failure shows its stderr. */
export async function expectOk(
  box: Sandbox,
  args: readonly string[],
  extraEnv: Record<string, string> = {},
): Promise<Result> {
  const r = await box.run(args, extraEnv);
  expect(r.code, `driverplug ${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r;
}
