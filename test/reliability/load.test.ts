// Load: up to 100k calls, 256 in flight, spread over 4 fake plugins through
// the host's typed client, for as many as fit in a time budget (a loaded
// 2-core machine gets through fewer; a minimum still has to run). Zero errors
// allowed; RSS and open fds of the host and of each plugin are read from
// /proc at the start and the end, printed as a table, and their growth is
// bounded.
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import type { DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { launch, silentLogger, type PluginHandle } from "../../src/host/index.js";
import { makeHostTestEnv, type HostTestEnv } from "../host/host-test-env.js";
import { Figures } from "../security/figures.js";

const TOTAL = 100_000;
const IN_FLIGHT = 256;
const PLUGINS = 4;
const WARMUP = 4_000;
/** Calls stop being sent after this long; the calls in flight then finish. */
const BUDGET_MS = 60_000;
/** What must get through within the budget even on a loaded 2-core machine (at a load average of 27: 5,056). */
const MIN_CALLS = 1_000;

const figures = new Figures("load");
let env: HostTestEnv;
let plugins: Array<PluginHandle<typeof DriverServiceService>> = [];

beforeAll(async () => {
  env = await makeHostTestEnv();
  plugins = await Promise.all(
    Array.from({ length: PLUGINS }, () => launch("fake", { socketBaseDir: env.base, logger: silentLogger })),
  );
  await Promise.all(
    plugins.map((p, i) =>
      p.client.setConfig({
        configJson: Buffer.from(JSON.stringify({ machineName: `load${i}`, storePath: join(env.scratch, `s${i}`) })),
      }),
    ),
  );
});
afterAll(async () => {
  await Promise.all(plugins.map((p) => p.close()));
  await env.cleanup();
  figures.print();
});

interface Sample {
  rssMiB: number;
  fds: number;
}

function sample(pid: number | "self"): Sample {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = Number(/^VmRSS:\s+([0-9]+) kB/m.exec(status)?.[1] ?? NaN);
  return { rssMiB: Math.round((kib / 1024) * 10) / 10, fds: readdirSync(`/proc/${pid}/fd`).length };
}

function sampleAll(): Record<string, Sample> {
  const out: Record<string, Sample> = { host: sample("self") };
  plugins.forEach((p, i) => (out[`plugin ${i} (pid ${p.pid})`] = sample(p.pid)));
  return out;
}

/**
 * Up to `count` calls with `inFlight` workers, none sent after `until`; each
 * worker sticks to one plugin and alternates GetInfo and GetState.
 */
async function run(
  count: number,
  inFlight: number,
  until = Infinity,
): Promise<{ sent: number; ok: number; errors: string[] }> {
  let next = 0;
  let sent = 0;
  let ok = 0;
  const errors: string[] = [];
  const worker = async (w: number) => {
    const client = plugins[w % PLUGINS]!.client;
    for (let n = next++; n < count && Date.now() < until; n = next++) {
      sent++;
      try {
        if (n % 2 === 0) await client.getInfo({});
        else await client.getState({});
        ok++;
      } catch (err) {
        if (errors.length < 10) errors.push((err as Error).message);
        else errors.length++;
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, (_, w) => worker(w)));
  return { sent, ok, errors };
}

describe("load", () => {
  it(`up to ${TOTAL} calls (${BUDGET_MS / 1000} s budget) with ${IN_FLIGHT} in flight over ${PLUGINS} plugins: zero errors, bounded RSS and fds`, async () => {
    await run(WARMUP, IN_FLIGHT);
    const start = sampleAll();
    const started = performance.now();
    const { sent, ok, errors } = await run(TOTAL, IN_FLIGHT, Date.now() + BUDGET_MS);
    const seconds = (performance.now() - started) / 1000;
    const end = sampleAll();
    const rows = Object.keys(start).map((who) => ({
      who,
      "rss start MiB": start[who]!.rssMiB,
      "rss end MiB": end[who]!.rssMiB,
      "fds start": start[who]!.fds,
      "fds end": end[who]!.fds,
    }));
    console.table(rows);
    const rate = Math.round(sent / seconds);
    console.log(
      `load: ${ok} of ${sent} calls ok in ${seconds.toFixed(1)} s (${rate} calls/s; ${TOTAL} wanted, ${BUDGET_MS / 1000} s budget), ${errors.length} errors ${errors.slice(0, 3).join(" | ")}`,
    );
    const growth = (who: string) => end[who]!.rssMiB - start[who]!.rssMiB;
    const fdGrowth = (who: string) => end[who]!.fds - start[who]!.fds;
    figures.set("calls", sent);
    figures.set("inFlight", IN_FLIGHT);
    figures.set("plugins", PLUGINS);
    figures.set("errors", errors.length);
    figures.set("callsPerSecond", rate);
    figures.set("seconds", Number(seconds.toFixed(1)));
    figures.set("hostRssGrowthMiB", Number(growth("host").toFixed(1)));
    figures.set("maxPluginRssGrowthMiB", Number(Math.max(...rows.slice(1).map((r) => growth(r.who))).toFixed(1)));
    figures.set("fdGrowth", Math.max(...rows.map((r) => fdGrowth(r.who))));
    expect(errors).toEqual([]);
    expect(ok).toBe(sent);
    expect(sent, `calls sent within ${BUDGET_MS / 1000} s`).toBeGreaterThanOrEqual(MIN_CALLS);
    for (const r of rows) {
      expect(growth(r.who), `${r.who} RSS growth`).toBeLessThan(r.who === "host" ? 150 : 100);
      expect(fdGrowth(r.who), `${r.who} fd growth`).toBeLessThanOrEqual(2);
    }
    // The budget, the warm-up and the calls in flight at its end (each has its own deadline), with room for a loaded machine.
  }, 300_000);
});
