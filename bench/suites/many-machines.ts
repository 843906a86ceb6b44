// The CLI and many machines: `driverplug status m1` from spawn to exit next
// to `node -e 0`, with warm plugins off and reusing the warm plugin; how long PluginHandle.close() takes; `driverplug ls` of
// 1..500 fake machines, warm, timed side by side (wall, peak processes, peak RSS of the whole process
// tree, and whether every row shows its machine's true state); and a fake
// plugin's RSS serving 1 and 100 machines, and the warm plugin's RSS. Machines are written to the store
// directly (bench/fake-machines.ts).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { launch, silentLogger } from "../../src/host/index.js";
import { fakeFleet, writeFakeMachines, type FakeMachineSpec } from "../fake-machines.js";
import type { Results } from "../results.js";
import { alternate } from "../rounds.js";
import { median, medianRatio } from "../stats.js";
import { timeNodeNoop } from "./startup.js";

const DRIVERPLUG = fileURLToPath(new URL("../../../bin/driverplug", import.meta.url));

export interface ManyMachinesOptions {
  rounds: number;
  lsCounts: number[];
  lsRounds: number;
}

interface Run {
  ms: number;
  stdout: string;
  stderr: string;
  code: number | null;
  peakProcesses: number;
  peakRssMib: number;
}

/** A store of its own and a private runtime dir for the plugins' sockets. */
async function sandbox(): Promise<{ root: string; env: NodeJS.ProcessEnv }> {
  const root = await mkdtemp(join(tmpdir(), "dp-"));
  const runtime = join(root, "r");
  await mkdir(runtime, { mode: 0o700 });
  return { root, env: { ...process.env, DRIVERPLUG_STORE: join(root, "s"), XDG_RUNTIME_DIR: runtime } };
}

/** Runs the CLI; with `sample`, polls /proc for its process tree's size and RSS meanwhile. */
async function runCli(args: string[], env: NodeJS.ProcessEnv, sample: boolean): Promise<Run> {
  const t0 = performance.now();
  const child = spawn(DRIVERPLUG, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const closed = once(child, "close");
  let peakProcesses = 0;
  let peakRssMib = 0;
  let sampling = sample;
  const sampler = (async () => {
    while (sampling) {
      const tree = await processTree(child.pid!);
      peakProcesses = Math.max(peakProcesses, tree.count);
      peakRssMib = Math.max(peakRssMib, tree.rssMib);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const [code] = (await closed) as [number | null];
  const ms = performance.now() - t0;
  sampling = false;
  await sampler;
  return { ms, stdout, stderr, code, peakProcesses, peakRssMib };
}

/** The live processes under `root` (itself included) and their summed VmRSS. */
async function processTree(root: number): Promise<{ count: number; rssMib: number }> {
  const parent = new Map<number, number>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    if (stat === "") continue;
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z") continue;
    parent.set(Number(entry), Number(fields[1]));
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid, hops = 0; p !== undefined && hops < 64; p = parent.get(p), hops++)
      if (p === root) return true;
    return false;
  };
  let count = 0;
  let rssKb = 0;
  for (const pid of parent.keys()) {
    if (!inTree(pid)) continue;
    count++;
    const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
    rssKb += Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
  }
  return { count, rssMib: rssKb / 1024 };
}

function expectOk(what: string, run: Run): Run {
  if (run.code !== 0) throw new Error(`${what} exited with ${run.code}: ${run.stderr.slice(-2000)}`);
  return run;
}

export async function runManyMachines(opts: ManyMachinesOptions, results: Results): Promise<void> {
  const box = await sandbox();
  try {
    await statusVsNode(box.env, opts.rounds, results);
    await closeTime(opts.rounds, results);
    await lsScale(opts, results);
    await pluginRss(box.root, results);
  } finally {
    await rm(box.root, { recursive: true, force: true });
  }
}

async function statusVsNode(env: NodeJS.ProcessEnv, rounds: number, results: Results): Promise<void> {
  await writeFakeMachines(env.DRIVERPLUG_STORE!, [{ name: "m1", state: "running" }]);
  const cold = { ...env, DRIVERPLUG_WARM: "0" };
  const warm = { ...env, DRIVERPLUG_WARM: "600" };
  // The same warm plugin through the full CLI bundle (the entry's fast path turned off).
  const warmFull = { ...warm, DRIVERPLUG_NO_FAST_PATH: "1" };
  const status = (e: NodeJS.ProcessEnv) => async () => {
    const run = expectOk("driverplug status m1", await runCli(["status", "m1"], e, false));
    if (run.stdout.trim() !== "Running") throw new Error(`driverplug status m1 said ${JSON.stringify(run.stdout)}`);
    return run.ms;
  };
  // The first warm run leaves the plugin the others reuse.
  await status(cold)();
  await status(warm)();
  const timed = await alternate(
    [
      { name: "cold", run: status(cold) },
      { name: "warm", run: status(warm) },
      { name: "warm_full_cli", run: status(warmFull) },
      { name: "node", run: async () => (await timeNodeNoop()).totalMs },
    ],
    rounds,
  );
  const rss = await warmPluginRssMib(env);
  await stopWarmPlugins(env);
  results.add(
    "cli_status_ms",
    median(timed.get("cold")!),
    "ms",
    "driverplug status m1, warm plugins off (--warm 0): spawn to exit (fake driver)",
  );
  results.add(
    "cli_status_warm_ms",
    median(timed.get("warm")!),
    "ms",
    "driverplug status m1 reusing the warm plugin: spawn to exit",
  );
  results.add(
    "cli_status_warm_full_cli_ms",
    median(timed.get("warm_full_cli")!),
    "ms",
    "the same through the full CLI bundle (DRIVERPLUG_NO_FAST_PATH=1)",
  );
  results.add("cli_node_ms", median(timed.get("node")!), "ms", "node -e 0, alternated with them");
  results.add(
    "ratio.cli_status_over_node",
    medianRatio(timed.get("cold")!, timed.get("node")!),
    "x",
    "cold: paired rounds",
  );
  results.add(
    "ratio.cli_status_warm_over_node",
    medianRatio(timed.get("warm")!, timed.get("node")!),
    "x",
    "warm: paired rounds",
  );
  results.add(
    "ratio.cli_status_warm_full_cli_over_node",
    medianRatio(timed.get("warm_full_cli")!, timed.get("node")!),
    "x",
    "warm, full CLI bundle: paired rounds",
  );
  if (rss !== undefined) results.add("warm_plugin_rss_mib.status", rss, "MiB", "VmRSS of the warm fake plugin, idle");
}

/** VmRSS of the sandbox's warm plugin (from `driverplug plugins --json`), if one is up. */
async function warmPluginRssMib(env: NodeJS.ProcessEnv): Promise<number | undefined> {
  const run = expectOk("driverplug plugins --json", await runCli(["plugins", "--json"], env, false));
  const rows = JSON.parse(run.stdout) as { pid: number }[];
  if (rows.length === 0) return undefined;
  const status = await readFile(`/proc/${rows[0]!.pid}/status`, "utf8").catch(() => "");
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb) / 1024;
}

async function stopWarmPlugins(env: NodeJS.ProcessEnv): Promise<void> {
  expectOk("driverplug plugins stop", await runCli(["plugins", "stop"], env, false));
}

async function closeTime(rounds: number, results: Results): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const handle = await launch("fake", { logger: silentLogger });
    await handle.client.getInfo({});
    const t0 = performance.now();
    await handle.close();
    times.push(performance.now() - t0);
  }
  results.add(
    "close_ms",
    median(times),
    "ms",
    "PluginHandle.close(): Shutdown RPC, the plugin's exit, its output read, private dir removed",
  );
}

async function lsScale(opts: ManyMachinesOptions, results: Results): Promise<void> {
  // One store per count, each with its warm plugin (as by default): the first `ls` in each starts the
  // plugin and samples the process tree; then the counts are timed side by side, round by round, so
  // a busy stretch of the machine lands on all of them alike and ls100 over ls1 is a paired ratio.
  const stores: { n: number; fleet: FakeMachineSpec[]; root: string; env: NodeJS.ProcessEnv }[] = [];
  try {
    for (const n of opts.lsCounts) {
      const box = await sandbox();
      const fleet = fakeFleet(n);
      stores.push({ n, fleet, root: box.root, env: { ...box.env, DRIVERPLUG_WARM: "600" } });
      await writeFakeMachines(box.env.DRIVERPLUG_STORE!, fleet);
    }
    const wrongRows = new Map<number, { timeouts: number; wrong: number }>();
    const ls = async (store: (typeof stores)[number], sample: boolean) => {
      const run = expectOk(`driverplug ls (${store.n} machines)`, await runCli(["ls", "--json"], store.env, sample));
      const rows = JSON.parse(run.stdout) as { name: string; state: string }[];
      const seen = wrongRows.get(store.n) ?? { timeouts: 0, wrong: 0 };
      seen.timeouts = Math.max(seen.timeouts, rows.filter((r) => r.state === "Timeout").length);
      seen.wrong = Math.max(seen.wrong, countWrong(store.fleet, rows));
      wrongRows.set(store.n, seen);
      return run;
    };
    for (const store of stores) {
      const first = await ls(store, true);
      results.add(`ls${store.n}_peak_processes`, first.peakProcesses, "", "the CLI and its plugins, at most at once");
      results.add(
        `ls${store.n}_peak_rss_mib`,
        first.peakRssMib,
        "MiB",
        "summed VmRSS of the CLI and its plugins, at most",
      );
    }
    const walls = await alternate(
      stores.map((store) => ({ name: String(store.n), run: async () => (await ls(store, false)).ms })),
      opts.lsRounds,
    );
    for (const store of stores) {
      results.add(
        `ls${store.n}_ms`,
        median(walls.get(String(store.n))!),
        "ms",
        `driverplug ls --json of ${store.n} fake machines, warm: spawn to exit`,
      );
      const rss = await warmPluginRssMib(store.env);
      if (rss !== undefined)
        results.add(
          `warm_plugin_rss_mib.ls${store.n}`,
          rss,
          "MiB",
          `VmRSS of the warm fake plugin after ls of ${store.n}`,
        );
      results.add(`ls${store.n}_timeout_rows`, wrongRows.get(store.n)!.timeouts, "", "rows shown as Timeout");
      results.add(
        `ls${store.n}_wrong_rows`,
        wrongRows.get(store.n)!.wrong,
        "",
        "rows whose state is not the machine's true state",
      );
    }
    const one = walls.get("1");
    const hundred = walls.get("100");
    if (one !== undefined && hundred !== undefined)
      results.add("ratio.ls100_over_ls1", medianRatio(hundred, one), "x", "paired rounds");
  } finally {
    for (const store of stores) {
      await stopWarmPlugins(store.env).catch(() => undefined);
      await rm(store.root, { recursive: true, force: true });
    }
  }
}

function countWrong(fleet: readonly FakeMachineSpec[], rows: readonly { name: string; state: string }[]): number {
  const byName = new Map(rows.map((r) => [r.name, r.state]));
  return fleet.filter((m) => byName.get(m.name) !== (m.state === "running" ? "Running" : "Stopped")).length;
}

async function pluginRss(root: string, results: Results): Promise<void> {
  const measure = async (machines: number) => {
    const handle = await launch("fake", { logger: silentLogger });
    try {
      for (let i = 0; i < machines; i++) {
        const name = `r${i}`;
        const client = handle.forMachine(name);
        const config = { machineName: name, storePath: join(root, "rss", name) };
        await client.setConfig({ configJson: Buffer.from(JSON.stringify(config)) });
        await client.getState({});
      }
      // Let the collector settle what the calls left, as an idle plugin would.
      await new Promise((r) => setTimeout(r, 500));
      const status = await readFile(`/proc/${handle.pid}/status`, "utf8");
      return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]) / 1024;
    } finally {
      await handle.close();
    }
  };
  const one = await measure(1);
  const hundred = await measure(100);
  results.add("plugin_rss_mib.machines1", one, "MiB", "VmRSS of the fake plugin serving 1 machine");
  results.add("plugin_rss_mib.machines100", hundred, "MiB", "the same plugin serving 100 machines");
  results.add("ratio.plugin_rss_100_over_1", hundred / one, "x", "");
}
