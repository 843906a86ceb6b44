// The console and readiness sources a backend feeds from a stream (libvirt's
// console and channel over its connection): lines split across chunks, the
// readiness line seen on either, the tail cleaned and bounded, close()
// reaching the stream's owner.
import { describe, expect, it } from "vitest";
import { StreamConsole } from "../../src/drivers/guest/console-source.js";
import { READY_LINE, StreamReadyPort } from "../../src/drivers/guest/readiness.js";

/** Every stream the test made, each settled once its reader took all of it (or stopped). */
const streams: Promise<void>[] = [];

function chunks(parts: string[]): AsyncGenerator<Buffer> {
  return tracked(
    (async function* () {
      for (const p of parts) {
        yield Buffer.from(p, "latin1");
        await new Promise((r) => setImmediate(r));
      }
    })(),
  );
}

/** Wraps a stream so settle() knows when its reader has finished with it. */
function tracked(source: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  let finished!: () => void;
  streams.push(new Promise<void>((r) => (finished = r)));
  return (async function* () {
    try {
      yield* source;
    } finally {
      finished();
    }
  })();
}

/** Waits until every stream was read to its end (or its reader stopped), then one more turn. */
const settle = async () => {
  await Promise.all(streams.splice(0));
  await new Promise((r) => setImmediate(r));
};

describe("stream sources", () => {
  it("StreamConsole hands out whole lines once, however the chunks cut them, and keeps a clean tail", async () => {
    let closed = false;
    const c = new StreamConsole(
      chunks([
        "Linux ver",
        "sion 6.1\r\nboot\x1b[1m",
        "ing\n\x07bell\n",
        `${READY_LINE.slice(0, 5)}`,
        `${READY_LINE.slice(5)}\n`,
      ]),
      () => (closed = true),
    );
    await settle();
    expect(await c.newLines()).toEqual(["Linux version 6.1", "boot\x1b[1ming", "\x07bell", READY_LINE]);
    expect(await c.newLines()).toEqual([]);
    expect(c.sawReady).toBe(true);
    expect(await c.tail()).toBe(`Linux version 6.1 | booting | bell | ${READY_LINE}`);
    c.close();
    expect(closed).toBe(true);
  });

  it("StreamConsole drops the oldest lines for a reader far behind", async () => {
    const c = new StreamConsole(chunks([Array.from({ length: 2500 }, (_, i) => `line ${i}\n`).join("")]));
    await settle();
    const lines = await c.newLines();
    expect(lines).toHaveLength(2000);
    expect(lines[0]).toBe("line 500");
  });

  it("StreamReadyPort sees the readiness line split over chunks, and not before it", async () => {
    const port = new StreamReadyPort(chunks(["noise\n", "driverplug-", "rea"]));
    await settle();
    expect(port.seen).toBe(false);
    const ready = new StreamReadyPort(chunks(["noise\n", "driverplug-", "ready\n"]));
    await settle();
    expect(ready.seen).toBe(true);
  });

  it("a stream that fails leaves the console's tail and records why", async () => {
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.from("last words\n");
      throw new Error("connection lost");
    }
    const c = new StreamConsole(tracked(broken()));
    await settle();
    expect(await c.tail()).toBe("last words");
    expect((c.failure as Error).message).toBe("connection lost");
  });
});
