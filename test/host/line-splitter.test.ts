// The bounded line splitter, stderr tail and line budget under the host's reading of plugin output.
import { describe, expect, it } from "vitest";
import { LineSplitter, type Line } from "../../src/host/line-splitter.js";
import { StderrTail } from "../../src/host/stderr-tail.js";
import { LineBudget } from "../../src/host/line-budget.js";

function split(max: number, chunks: string[], end = true): Line[] {
  const lines: Line[] = [];
  const s = new LineSplitter(max, (l) => lines.push(l));
  for (const c of chunks) s.push(Buffer.from(c));
  if (end) s.end();
  return lines;
}

describe("LineSplitter", () => {
  it("joins lines split across chunks and strips CR", () => {
    expect(split(100, ["ab", "c\r\nde", "f\n"])).toEqual([
      { text: "abc", cut: false },
      { text: "def", cut: false },
    ]);
  });

  it("emits an unterminated last line at the end", () => {
    expect(split(100, ["a\nb"])).toEqual([
      { text: "a", cut: false },
      { text: "b", cut: false },
    ]);
  });

  it("cuts an over-long line once and drops the rest of it", () => {
    expect(split(4, ["abcdefgh", "ijk\nxy\n"])).toEqual([
      { text: "abcd", cut: true },
      { text: "xy", cut: false },
    ]);
  });

  it("emits a cut line before its newline arrives, so a newline-less flood is seen", () => {
    expect(split(4, ["abcdefgh"], false)).toEqual([{ text: "abcd", cut: true }]);
  });

  it("keeps a line of exactly the limit whole", () => {
    expect(split(4, ["abcd\n"])).toEqual([{ text: "abcd", cut: false }]);
  });
});

describe("StderrTail", () => {
  it("keeps only the last lines, each cut to a maximum length", () => {
    const tail = new StderrTail(2, 5);
    for (const l of ["one", "two", "three-and-more"]) tail.add(l);
    expect(tail.get()).toEqual(["two", "three..."]);
    expect(tail.describe()).toBe("; last stderr lines:\n  two\n  three...");
  });

  it("says when nothing was written", () => {
    expect(new StderrTail().describe()).toBe("; it wrote nothing to stderr");
  });
});

describe("LineBudget", () => {
  it("allows the budget per one-second window and counts what it refuses", () => {
    let now = 10_000;
    const budget = new LineBudget(2, () => now);
    expect([budget.take(), budget.take(), budget.take(), budget.take()]).toEqual([true, true, false, false]);
    now += 400;
    expect(budget.msLeftInWindow()).toBe(600);
    expect(budget.takeDropped()).toBe(2);
    expect(budget.takeDropped()).toBe(0);
    now += 600;
    expect(budget.take()).toBe(true);
  });
});
