// Order statistics for benchmark samples: every figure the bench reports is
// a median (or a percentile) because the machines it runs on are shared and
// noisy, and a mean lets one hiccup move the result.

/** The q-quantile (0..1) by nearest rank; throws on an empty sample. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) throw new Error("quantile of an empty sample: the benchmark recorded no measurements");
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error("median of an empty sample: the benchmark recorded no measurements");
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The median of pairwise ratios a[i] / b[i]: rounds measured side by side. */
export function medianRatio(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length)
    throw new Error(`paired ratio needs as many rounds on both sides (${a.length} vs ${b.length})`);
  return median(a.map((x, i) => x / b[i]!));
}
