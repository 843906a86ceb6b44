// The console and readiness sources a backend feeds from a stream (libvirt's
// console and channel over its connection): lines split across chunks, the
// readiness line seen on either, the tail cleaned and bounded, close()
// reaching the stream's owner.
import { describe, expect, it } from "vitest";
import { StreamConsole } from "../../src/drivers/guest/console-source.js";
import { READY_LINE, StreamReadyPort } from "../../src/drivers/guest/readiness.js";

/**
 * The parts as a stream, with `drained`: resolved once its reader has taken
 * the last part and asked for more, so a test waits for the reader, not for a
 * time that a loaded machine may not keep.
 */
function chunks(parts: string[]): AsyncGenerator<Buffer> & { drained: Promise<void> } {
  let drained!: () => void;
  const done = new Promise<void>((r) => (drained = r));
  async function* stream(): AsyncGenerator<Buffer> {
    for (const p of parts) {
      yield Buffer.from(p, "latin1");
      await new Promise((r) => setImmediate(r));
    }
    drained();
  }
  return Object.assign(stream(), { drained: done });
}

/** Resolves once `ready()` holds; fails after 30 s. */
async function until(ready: () => boolean): Promise<void> {
  const end = Date.now() + 30_000;
  while (!ready()) {
    if (Date.now() > end) throw new Error("the stream's reader never got there");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("stream sources", () => {
  it("StreamConsole hands out whole lines once, however the chunks cut them, and keeps a clean tail", async () => {
    let closed = false;
    const source = chunks([
      "Linux ver",
      "sion 6.1\r\nboot\x1b[1m",
      "ing\n\x07bell\n",
      `${READY_LINE.slice(0, 5)}`,
      `${READY_LINE.slice(5)}\n`,
    ]);
    const c = new StreamConsole(source, () => (closed = true));
    await source.drained;
    expect(await c.newLines()).toEqual(["Linux version 6.1", "boot\x1b[1ming", "\x07bell", READY_LINE]);
    expect(await c.newLines()).toEqual([]);
    expect(c.sawReady).toBe(true);
    expect(await c.tail()).toBe(`Linux version 6.1 | booting | bell | ${READY_LINE}`);
    c.close();
    expect(closed).toBe(true);
  });

  it("StreamConsole drops the oldest lines for a reader far behind", async () => {
    const source = chunks([Array.from({ length: 2500 }, (_, i) => `line ${i}\n`).join("")]);
    const c = new StreamConsole(source);
    await source.drained;
    const lines = await c.newLines();
    expect(lines).toHaveLength(2000);
    expect(lines[0]).toBe("line 500");
  });

  it("StreamReadyPort sees the readiness line split over chunks, and not before it", async () => {
    const partial = chunks(["noise\n", "driverplug-", "rea"]);
    const port = new StreamReadyPort(partial);
    await partial.drained;
    expect(port.seen).toBe(false);
    // It stops reading at the readiness line, so this stream never drains.
    const ready = new StreamReadyPort(chunks(["noise\n", "driverplug-", "ready\n"]));
    await until(() => ready.seen);
    expect(ready.seen).toBe(true);
  });

  it("a stream that fails leaves the console's tail and records why", async () => {
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.from("last words\n");
      throw new Error("connection lost");
    }
    const c = new StreamConsole(broken());
    await until(() => c.failure !== undefined);
    expect(await c.tail()).toBe("last words");
    expect((c.failure as Error).message).toBe("connection lost");
  });
});
