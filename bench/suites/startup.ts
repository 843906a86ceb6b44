// Start-up: a plugin from spawn to its first successful call, alternated
// with `node -e 0` from spawn to exit (the least any Node process costs).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { alternate, type Contender } from "../rounds.js";
import { median } from "../stats.js";
import type { Results } from "../results.js";

/** A started plugin as the bench sees it, whoever launched it. */
export interface StartedPlugin {
  pid: number | undefined;
  /** One successful call (GetState), proving the plugin serves. */
  call(): Promise<unknown>;
  close(): Promise<void>;
}

export type PluginStarter = () => Promise<StartedPlugin>;

/** Milliseconds from launch to the first successful call; the close is not timed. */
export async function timeToFirstCall(start: PluginStarter): Promise<number> {
  const t0 = performance.now();
  const plugin = await start();
  try {
    await plugin.call();
    return performance.now() - t0;
  } finally {
    await plugin.close();
  }
}

export async function timeNodeNoop(): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" });
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) throw new Error(`node -e 0 exited with ${code}`);
  return performance.now() - t0;
}

export async function runStartup(start: PluginStarter, opts: { rounds: number }, results: Results): Promise<Map<string, number[]>> {
  await timeToFirstCall(start);
  await timeNodeNoop();
  const contenders: Contender<number>[] = [
    { name: "plugin", run: () => timeToFirstCall(start) },
    { name: "node", run: timeNodeNoop },
  ];
  const rounds = await alternate(contenders, opts.rounds);
  results.add("startup_ms.plugin", median(rounds.get("plugin")!), "ms", "fake plugin: launch() to first Probe");
  results.add("startup_ms.node", median(rounds.get("node")!), "ms", "node -e 0: spawn to exit");
  return rounds;
}
