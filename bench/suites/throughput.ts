// Throughput: many calls in flight, a 1 MiB payload echoed each way, and a
// server stream of small messages; contenders alternated round by round.
import { alternate, type Contender } from "../rounds.js";
import { concurrent, warmUp, type Call } from "../load.js";
import { median } from "../stats.js";
import type { Results } from "../results.js";

export interface InflightTarget {
  name: string;
  call: Call;
}

export interface EchoTarget {
  name: string;
  echo(payload: Buffer): Promise<Buffer>;
}

export interface StreamTarget {
  name: string;
  /** Receives `count` messages of `size` bytes; resolves with how many arrived. */
  burst(count: number, size: number): Promise<number>;
}

export const MIB = 1024 * 1024;

export async function runInflight(targets: readonly InflightTarget[], opts: { calls: number; inFlight: number; rounds: number }, results: Results): Promise<Map<string, number[]>> {
  for (const t of targets) await concurrent(t.call, opts.inFlight * 4, opts.inFlight);
  const contenders: Contender<number>[] = targets.map((t) => ({ name: t.name, run: () => concurrent(t.call, opts.calls, opts.inFlight) }));
  const rounds = await alternate(contenders, opts.rounds);
  for (const t of targets) {
    results.add(`inflight${opts.inFlight}_rate.${t.name}`, median(rounds.get(t.name)!), "calls/s", `GetState, ${opts.inFlight} in flight`);
  }
  return rounds;
}

/** MiB/s counts the payload once per direction: a 1 MiB echo carries 2 MiB. */
export async function runEcho(targets: readonly EchoTarget[], opts: { calls: number; rounds: number }, results: Results): Promise<Map<string, number[]>> {
  const payload = Buffer.alloc(MIB, 0x5a);
  const once = async (t: EchoTarget) => {
    const back = await t.echo(payload);
    if (back.length !== payload.length) throw new Error(`${t.name} echoed ${back.length} bytes instead of ${payload.length}`);
  };
  for (const t of targets) await warmUp(() => once(t), 3);
  const contenders: Contender<number>[] = targets.map((t) => ({
    name: t.name,
    run: async () => {
      const start = performance.now();
      for (let i = 0; i < opts.calls; i++) await once(t);
      return (2 * opts.calls) / ((performance.now() - start) / 1000);
    },
  }));
  const rounds = await alternate(contenders, opts.rounds);
  for (const t of targets) results.add(`mib1_mibs.${t.name}`, median(rounds.get(t.name)!), "MiB/s", "1 MiB echo, one at a time, both directions counted");
  return rounds;
}

export async function runStream(targets: readonly StreamTarget[], opts: { count: number; size: number; rounds: number }, results: Results): Promise<Map<string, number[]>> {
  for (const t of targets) await t.burst(1000, opts.size);
  const contenders: Contender<number>[] = targets.map((t) => ({
    name: t.name,
    run: async () => {
      const start = performance.now();
      const got = await t.burst(opts.count, opts.size);
      if (got !== opts.count) throw new Error(`${t.name} streamed ${got} messages instead of ${opts.count}`);
      return got / ((performance.now() - start) / 1000);
    },
  }));
  const rounds = await alternate(contenders, opts.rounds);
  for (const t of targets) results.add(`stream_msgs_s.${t.name}`, median(rounds.get(t.name)!), "msgs/s", `server stream of ${opts.size}-byte messages`);
  return rounds;
}
