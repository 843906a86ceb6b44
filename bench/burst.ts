// How many messages one WatchState stream carries in the stream figure;
// both the bench plugin and the bare server read it from the environment.

export const BENCH_BURST = "BENCH_BURST";

export function burstCount(env: NodeJS.ProcessEnv): number {
  const n = Number(env[BENCH_BURST] ?? "1000");
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`${BENCH_BURST} must be a positive integer, got ${JSON.stringify(env[BENCH_BURST])}`);
  return n;
}
