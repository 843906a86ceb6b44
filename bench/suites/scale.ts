// Scale: n plugins launched at once by one host, timed until every one has
// answered a call; and the resident memory of an idle plugin.
import { readFile } from "node:fs/promises";
import { alternate, type Contender } from "../rounds.js";
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
  if (failed)
    throw new Error(`launching ${n} plugins at once failed: ${String(failed.reason)}`, { cause: failed.reason });
  return elapsed;
}

/**
 * scale<n>_ready_ms for every count; with `alternative`, its n=max figure is
 * measured in alternation with the main one (scale<n>_<name>_ready_ms).
 */
export async function runScale(
  start: PluginStarter,
  opts: { counts: number[]; rounds: number },
  results: Results,
  alternative?: { name: string; start: PluginStarter },
): Promise<void> {
  const largest = Math.max(...opts.counts);
  for (const n of opts.counts) {
    const contenders: Contender<number>[] = [{ name: "main", run: () => timeAllReady(start, n) }];
    if (alternative && n === largest)
      contenders.push({ name: alternative.name, run: () => timeAllReady(alternative.start, n) });
    const rounds = await alternate(contenders, opts.rounds);
    results.add(
      `scale${n}_ready_ms`,
      median(rounds.get("main")!),
      "ms",
      `${n} plugins launched at once until all served a call`,
    );
    if (alternative && n === largest) {
      results.add(
        `scale${n}_${alternative.name}_ready_ms`,
        median(rounds.get(alternative.name)!),
        "ms",
        `the same, ${alternative.name} plugin`,
      );
    }
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
