// Throughput: many calls in flight, a 1 MiB payload each way, and a server
// stream of small messages; contenders alternated round by round.
import { alternate, type Contender } from "../rounds.js";
import { concurrent, warmUp, type Call } from "../load.js";
import { median } from "../stats.js";
import type { Results } from "../results.js";

export interface InflightTarget {
  name: string;
  call: Call;
}

export interface PayloadTarget {
  name: string;
  /** Sends `payload` and receives as many bytes back; resolves with the bytes received. */
  roundTrip(payload: Buffer): Promise<number>;
}

export interface StreamTarget {
  name: string;
  /** Reads one whole server stream; resolves with the messages received. */
  burst(): Promise<number>;
}

export const MIB = 1024 * 1024;

export async function runInflight(
  targets: readonly InflightTarget[],
  opts: { calls: number; inFlight: number; rounds: number },
  results: Results,
): Promise<Map<string, number[]>> {
  for (const t of targets) await concurrent(t.call, opts.inFlight * 4, opts.inFlight);
  const contenders: Contender<number>[] = targets.map((t) => ({
    name: t.name,
    run: () => concurrent(t.call, opts.calls, opts.inFlight),
  }));
  const rounds = await alternate(contenders, opts.rounds);
  for (const t of targets) {
    results.add(
      `inflight${opts.inFlight}_rate.${t.name}`,
      median(rounds.get(t.name)!),
      "calls/s",
      `GetState, ${opts.inFlight} in flight`,
    );
  }
  return rounds;
}

/** MiB/s counts the payload once per direction: a 1 MiB round trip carries 2 MiB. */
export async function runPayload(
  figure: string,
  note: string,
  targets: readonly PayloadTarget[],
  opts: { calls: number; rounds: number },
  results: Results,
): Promise<Map<string, number[]>> {
  const payload = Buffer.alloc(MIB, 0x5a);
  const once = async (t: PayloadTarget) => {
    const back = await t.roundTrip(payload);
    if (back !== payload.length) throw new Error(`${t.name} sent back ${back} bytes instead of ${payload.length}`);
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
  for (const t of targets) results.add(`${figure}.${t.name}`, median(rounds.get(t.name)!), "MiB/s", note);
  return rounds;
}

export async function runStream(
  targets: readonly StreamTarget[],
  opts: { count: number; rounds: number },
  results: Results,
): Promise<Map<string, number[]>> {
  for (const t of targets) await t.burst();
  const contenders: Contender<number>[] = targets.map((t) => ({
    name: t.name,
    run: async () => {
      const start = performance.now();
      const got = await t.burst();
      if (got !== opts.count) throw new Error(`${t.name} streamed ${got} messages instead of ${opts.count}`);
      return got / ((performance.now() - start) / 1000);
    },
  }));
  const rounds = await alternate(contenders, opts.rounds);
  for (const t of targets)
    results.add(
      `stream_msgs_s.${t.name}`,
      median(rounds.get(t.name)!),
      "msgs/s",
      `one WatchState stream of ${opts.count} messages`,
    );
  return rounds;
}
