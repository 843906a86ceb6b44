// One seed per fuzz suite run, printed up front and settable with FUZZ_SEED,
// so any failure can be replayed exactly (fast-check also prints the seed and
// the shrunk counterexample in its failure message).
export function fuzzSeed(suite: string): number {
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
  console.log(`[driverplug fuzz] ${suite}: seed=${seed} (replay with FUZZ_SEED=${seed})`);
  return seed;
}
