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

describe("progress view on a slow output", () => {
  it("drops intermediate events while the output is full, then writes the newest one", async () => {
    const written: string[] = [];
    let callbacks: (() => void)[] = [];
    // A writable that accepts one chunk, then holds every later one until released.
    const slow = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _enc, done) {
        written.push(chunk.toString());
        callbacks.push(done);
      },
    });
    const view = progressView(slow);
    for (let i = 1; i <= 1000; i++) view.show(step(i / 10, "s", `event ${i}`));
    // One event went out; of the 999 that came while it was unread, only the newest is kept.
    expect(written).toEqual(["  [0.1%] s: event 1\n"]);
    expect(view.dropped).toBe(998);
    const release = () => {
      const pending = callbacks;
      callbacks = [];
      for (const done of pending) done();
    };
    const drained = new Promise<void>((resolve) => slow.once("drain", () => setImmediate(resolve)));
    release();
    await drained;
    expect(written).toEqual(["  [0.1%] s: event 1\n", "  [100%] s: event 1000\n"]);
    view.done();
    expect(written).toHaveLength(2);
  });

  it("writes the newest held event when the operation ends, even into a full buffer", () => {
    const written: string[] = [];
    const stuck = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _enc, _done) {
        written.push(chunk.toString());
      },
    });
    const view = progressView(stuck);
    view.show(step(10, "a", "first"));
    view.show(step(50, "b", "middle"));
    view.show(step(100, "c", "last"));
    view.done();
    expect(view.dropped).toBe(1);
    // The stream writes its first chunk at once and queues the rest in order.
    stuck.end();
    expect(written).toEqual(["  [ 10%] a: first\n"]);
    expect(stuck.writableLength).toBeGreaterThan(0);
  });
});
