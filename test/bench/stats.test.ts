// The bench's order statistics and round alternation: every reported figure
// rests on these, so they are pinned here.
import { describe, expect, it } from "vitest";
import { median, medianRatio, quantile } from "../../bench/stats.js";
import { alternate } from "../../bench/rounds.js";

describe("bench statistics", () => {
  it("median takes the middle value, or the mean of the two middle values", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("quantile uses the nearest rank, so p99 of 100 samples is the 99th smallest", () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(quantile(samples, 0.99)).toBe(99);
    expect(quantile(samples, 0.5)).toBe(50);
    expect(quantile([7], 0.99)).toBe(7);
  });

  it("medianRatio pairs rounds so drift common to both sides cancels out", () => {
    expect(medianRatio([2, 4, 8], [1, 2, 4])).toBe(2);
    expect(() => medianRatio([1], [1, 2])).toThrow(/as many rounds/);
  });

  it("refuses an empty sample with a message instead of returning NaN", () => {
    expect(() => median([])).toThrow(/no measurements/);
    expect(() => quantile([], 0.5)).toThrow(/no measurements/);
  });
});

describe("bench rounds", () => {
  it("flips the contender order every round and keeps results per contender", async () => {
    const order: string[] = [];
    const contender = (name: string) => ({ name, run: async () => (order.push(name), order.length) });
    const results = await alternate([contender("a"), contender("b")], 3);
    expect(order).toEqual(["a", "b", "b", "a", "a", "b"]);
    expect(results.get("a")).toEqual([1, 4, 5]);
    expect(results.get("b")).toEqual([2, 3, 6]);
  });
});
