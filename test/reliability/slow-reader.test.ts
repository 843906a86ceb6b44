// What a host holds for a server stream it reads slowly: a plugin that floods
// WatchState with 7-byte messages while the host reads one and then stops
// reading must not grow the host past a small bound (a 16 MiB window of tiny
// frames, each kept by Node as a Buffer of its own, once pinned over 500 MiB),
// and the stream then resumes and is cancelled cleanly, the plugin still answering.
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { launch, silentLogger, type PluginHandle } from "../../src/host/index.js";
import { makeHostTestEnv, type HostTestEnv } from "../host/host-test-env.js";
import { Figures } from "../security/figures.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/flood-driver.mjs", import.meta.url));
const BOUND_MIB = 64;
const figures = new Figures("slow-reader");
afterAll(() => figures.print());

let env: HostTestEnv;
let plugin: PluginHandle;
beforeEach(async () => {
  env = await makeHostTestEnv();
  plugin = await launch("flood", { executable: FIXTURE, socketBaseDir: env.base, logger: silentLogger });
});
afterEach(async () => {
  await plugin.close();
  await env.cleanup();
});

const MiB = 1024 * 1024;
/** What this process holds: JS heap plus Buffers, and its resident set. */
function held(): { heap: number; rss: number } {
  const m = process.memoryUsage();
  return { heap: (m.heapUsed + m.arrayBuffers) / MiB, rss: m.rss / MiB };
}

describe("a host that stops reading a server stream", () => {
  it(`holds under ${BOUND_MIB} MiB of a WatchState flood of tiny messages, then cancels it cleanly`, async () => {
    await plugin.client.getInfo({});
    const before = held();
    const watch = plugin.client.watchState({})[Symbol.asyncIterator]();
    const first = await watch.next();
    expect(first.done).toBe(false);
    expect(first.value).toEqual({ state: 4 });
    // Not reading any more: sample until the growth stops (the plugin is held back
    // by flow control) or for long enough that an unbounded buffer would show.
    let peak = { heap: 0, rss: 0 };
    let steady = 0;
    for (let i = 0; i < 120 && steady < 12; i++) {
      await sleep(250);
      const now = held();
      const grew = now.heap - before.heap > peak.heap + 1;
      peak = { heap: Math.max(peak.heap, now.heap - before.heap), rss: Math.max(peak.rss, now.rss - before.rss) };
      steady = grew ? 0 : steady + 1;
    }
    figures.set("hostHeapGrowthMiB", peak.heap);
    figures.set("hostRssGrowthMiB", peak.rss);
    expect(steady, "the host's memory was still growing after 30 s").toBeGreaterThanOrEqual(12);
    expect(peak.heap).toBeLessThan(BOUND_MIB);
    expect(peak.rss).toBeLessThan(BOUND_MIB);
    // The reader resumes: the stream still delivers, in order, then stops at the caller's word.
    const next = await watch.next();
    expect(next).toEqual({ done: false, value: { state: 4 } });
    await watch.return!(undefined);
    const info = await plugin.client.getInfo({}, { timeoutMs: 30_000 });
    expect(info.driverName).toBe("flood");
  }, 120_000);
});
