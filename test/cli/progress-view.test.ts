// Progress lines: one line per event in logs and pipes, one redrawn line on a
// terminal, ended by done() so the next output starts on a fresh line.
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { formatProgress, progressView } from "../../src/cli/progress-view.js";

function sink(isTTY: boolean) {
  let text = "";
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString();
        done();
      },
    }),
    { isTTY },
  );
  return { stream, text: () => text };
}

const step = (percent: number, name: string, message: string) => ({ step: name, message, percent });

describe("progress view", () => {
  it("formats percent, step and message", () => {
    expect(formatProgress(step(5, "disk", "Making a disk"))).toBe("[  5%] disk: Making a disk");
    expect(formatProgress(step(100, "", "Done"))).toBe("[100%] Done");
  });

  it("writes one line per event when not on a terminal", () => {
    const out = sink(false);
    const view = progressView(out.stream);
    view.show(step(10, "a", "one"));
    view.show(step(100, "b", "two"));
    view.done();
    expect(out.text()).toBe("  [ 10%] a: one\n  [100%] b: two\n");
  });

  it("redraws one line on a terminal and ends it once done", () => {
    const out = sink(true);
    const view = progressView(out.stream);
    view.show(step(10, "a", "one"));
    view.show(step(100, "b", "two"));
    view.done();
    view.done();
    expect(out.text()).toBe("\r\x1b[2K  [ 10%] a: one\r\x1b[2K  [100%] b: two\n");
  });
});
