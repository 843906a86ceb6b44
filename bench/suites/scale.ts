// Scale: n plugins launched at once by one host, timed until every one has
// answered a call; and the resident memory of an idle plugin.
import { readFile } from "node:fs/promises";
import { median } from "../stats.js";
import type { Results } from "../results.js";
import type { PluginStarter, StartedPlugin } from "./startup.js";

export async function timeAllReady(start: PluginStarter, n: number): Promise<number> {
  const t0 = performance.now();
  const launches = Array.from({ length: n }, async () => {
    const plugin = await start();
    await plugin.call();
    return plugin;
  });
  const settled = await Promise.allSettled(launches);
  const elapsed = performance.now() - t0;
  await Promise.all(settled.map((s) => (s.status === "fulfilled" ? s.value.close() : undefined)));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw new Error(`launching ${n} plugins at once failed: ${String(failed.reason)}`, { cause: failed.reason });
  return elapsed;
}

export async function runScale(start: PluginStarter, opts: { counts: number[]; rounds: number }, results: Results): Promise<void> {
  for (const n of opts.counts) {
    const samples: number[] = [];
    for (let r = 0; r < opts.rounds; r++) samples.push(await timeAllReady(start, n));
    results.add(`scale${n}_ready_ms`, median(samples), "ms", `${n} plugins launched at once until all served a call`);
  }
}

/** VmRSS of a plugin that served one call and then sat idle for `idleMs`. */
export async function idleRssMib(start: PluginStarter, idleMs = 1_000): Promise<number> {
  const plugin: StartedPlugin = await start();
  try {
    await plugin.call();
    if (plugin.pid === undefined) throw new Error("the started plugin has no pid to read its memory from");
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    return await rssMib(plugin.pid);
  } finally {
    await plugin.close();
  }
}

async function rssMib(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`/proc/${pid}/status has no VmRSS line`);
  return Number(match[1]) / 1024;
}
