// The load shapes the bench drives through any client: one call at a time
// (latency and sequential rate) and a fixed number of calls in flight.
import { quantile } from "./stats.js";

export type Call = () => Promise<unknown>;

export interface SequentialResult {
  p50Us: number;
  p99Us: number;
  /** Calls completed per second of wall time. */
  rate: number;
}

export async function sequential(call: Call, calls: number): Promise<SequentialResult> {
  const latencies = new Array<number>(calls);
  const start = performance.now();
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await call();
    latencies[i] = (performance.now() - t0) * 1000;
  }
  const seconds = (performance.now() - start) / 1000;
  return { p50Us: quantile(latencies, 0.5), p99Us: quantile(latencies, 0.99), rate: calls / seconds };
}

/** Keeps `inFlight` calls outstanding until `calls` have completed; returns calls/s. */
export async function concurrent(call: Call, calls: number, inFlight: number): Promise<number> {
  let started = 0;
  const start = performance.now();
  const worker = async () => {
    while (started < calls) {
      started++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, calls) }, worker));
  return calls / ((performance.now() - start) / 1000);
}

/** Runs `call` a few times so JIT, connection set-up and buffers are warm. */
export async function warmUp(call: Call, calls: number): Promise<void> {
  for (let i = 0; i < calls; i++) await call();
}
