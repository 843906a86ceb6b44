// Interop: a Go host (go-plugin 1.0.1) launching and calling a driverplug
// plugin, alternated with the same host calling a Go go-plugin plugin that
// serves the same proto. Each run of the host is one round: start-up, then
// GetState one call at a time.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { alternate, field, type Contender } from "../rounds.js";
import { median } from "../stats.js";
import type { Results } from "../results.js";

const run = promisify(execFile);

interface HostFigures {
  startupMs: number;
  p50Us: number;
  p99Us: number;
  rate: number;
}

export interface GoHostTarget {
  name: string;
  /** The plugin executable the Go host launches. */
  plugin: string;
  /** Config JSON the host sets (SetConfig) before timing GetState, for drivers that need one. */
  config?: string;
}

async function runHost(host: string, target: GoHostTarget, calls: number): Promise<HostFigures> {
  const args = ["-plugin", target.plugin, "-calls", String(calls)];
  if (target.config !== undefined) args.push("-config", target.config);
  const { stdout } = await run(host, args, { timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").pop()!) as HostFigures;
}

export async function runGoHost(
  host: string,
  targets: readonly GoHostTarget[],
  opts: { calls: number; rounds: number },
  results: Results,
): Promise<void> {
  for (const t of targets) await runHost(host, t, 100);
  const contenders: Contender<HostFigures>[] = targets.map((t) => ({
    name: t.name,
    run: () => runHost(host, t, opts.calls),
  }));
  const rounds = await alternate(contenders, opts.rounds);
  for (const t of targets) {
    results.add(
      `go_host_p50_us.${t.name}`,
      median(field(rounds, t.name, "p50Us")),
      "us",
      "Go go-plugin host, GetState p50",
    );
    results.add(
      `go_host_rate.${t.name}`,
      median(field(rounds, t.name, "rate")),
      "calls/s",
      "Go go-plugin host, one call at a time",
    );
    results.add(
      `go_host_startup_ms.${t.name}`,
      median(field(rounds, t.name, "startupMs")),
      "ms",
      "Go host: launch to first Probe",
    );
  }
}
