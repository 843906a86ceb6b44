// Start-up: plugins from launch to their first successful call, alternated
// with `node -e 0` from spawn to exit (the least any Node process costs).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { alternate, field, type Contender } from "../rounds.js";
import { median } from "../stats.js";
import type { Results } from "../results.js";

/** A started plugin as the bench sees it, whoever launched it. */
export interface StartedPlugin {
  pid: number | undefined;
  /** One successful call, proving the plugin serves. */
  call(): Promise<unknown>;
  close(): Promise<void>;
}

export type PluginStarter = () => Promise<StartedPlugin>;

export interface StartupTiming {
  /** Launch to the first successful call. */
  totalMs: number;
  /** Launch to the launcher returning (handshake read and checked). */
  launchedMs: number;
}

/** Times one start; the close is not timed. */
export async function timeToFirstCall(start: PluginStarter): Promise<StartupTiming> {
  const t0 = performance.now();
  const plugin = await start();
  const launchedMs = performance.now() - t0;
  try {
    await plugin.call();
    return { totalMs: performance.now() - t0, launchedMs };
  } finally {
    await plugin.close();
  }
}

export async function timeNodeNoop(): Promise<StartupTiming> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" });
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) throw new Error(`node -e 0 exited with ${code}`);
  const ms = performance.now() - t0;
  return { totalMs: ms, launchedMs: ms };
}

export interface StartupTarget {
  /** Figure suffix: startup_ms.<name>. */
  name: string;
  note: string;
  start: PluginStarter;
}

/** Alternates the plugins with `node -e 0` (named "node"); returns per-round totals. */
export async function runStartup(
  targets: readonly StartupTarget[],
  opts: { rounds: number },
  results: Results,
): Promise<Map<string, number[]>> {
  for (const t of targets) await timeToFirstCall(t.start);
  await timeNodeNoop();
  const contenders: Contender<StartupTiming>[] = [
    ...targets.map((t) => ({ name: t.name, run: () => timeToFirstCall(t.start) })),
    { name: "node", run: timeNodeNoop },
  ];
  const rounds = await alternate(contenders, opts.rounds);
  for (const t of targets) {
    results.add(`startup_ms.${t.name}`, median(field(rounds, t.name, "totalMs")), "ms", t.note);
    results.add(
      `startup_launch_ms.${t.name}`,
      median(field(rounds, t.name, "launchedMs")),
      "ms",
      "of which until launch() returned",
    );
  }
  results.add("startup_ms.node", median(field(rounds, "node", "totalMs")), "ms", "node -e 0: spawn to exit");
  return new Map([...rounds].map(([name, r]) => [name, r.map((x) => x.totalMs)]));
}
