// Unary latency and rate: GetState one call at a time, contenders alternated
// round by round; per-round p50, p99 and calls/s, reported as medians.
import { alternate, field, type Contender } from "../rounds.js";
import { sequential, warmUp, type Call, type SequentialResult } from "../load.js";
import { median } from "../stats.js";
import type { Results } from "../results.js";

export interface UnaryTarget {
  /** Figure suffix: unary_p50_us.<name>. */
  name: string;
  call: Call;
}

export interface UnaryOptions {
  calls: number;
  rounds: number;
  warmUpCalls: number;
}

export type UnaryRounds = Map<string, SequentialResult[]>;

/** `prefix` names the figures: unary_p50_us.<name> by default. */
export async function runUnary(
  targets: readonly UnaryTarget[],
  opts: UnaryOptions,
  results: Results,
  prefix = "unary",
): Promise<UnaryRounds> {
  for (const t of targets) await warmUp(t.call, opts.warmUpCalls);
  const contenders: Contender<SequentialResult>[] = targets.map((t) => ({
    name: t.name,
    run: () => sequential(t.call, opts.calls),
  }));
  const rounds = await alternate(contenders, opts.rounds);
  for (const t of targets) {
    results.add(
      `${prefix}_p50_us.${t.name}`,
      median(field(rounds, t.name, "p50Us")),
      "us",
      `GetState p50, median of ${opts.rounds} rounds x ${opts.calls} calls`,
    );
    results.add(`${prefix}_p99_us.${t.name}`, median(field(rounds, t.name, "p99Us")), "us", "GetState p99");
    results.add(`${prefix}_rate.${t.name}`, median(field(rounds, t.name, "rate")), "calls/s", "one call at a time");
  }
  return rounds;
}
