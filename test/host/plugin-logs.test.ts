// What a plugin writes after its handshake reaches the host's Logger: JSON
// stderr lines at their own level, everything else as debug records prefixed
// by the plugin's name; over-long lines are cut; a flood costs no memory; a
// logger's level is the plugin's too.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CONFIG_DEFAULTS } from "../../src/drivers/fake/config.js";
import { launch, silentLogger, stderrLogger, type HostLogRecord, type Logger } from "../../src/host/index.js";
import type { LogLevel } from "../../src/protocol/log-line.js";
import { MAX_LOG_LINES_PER_SECOND } from "../../src/host/plugin-output.js";
import { launchFixture } from "./fixture-launch.js";
import { makeHostTestEnv, type HostTestEnv } from "./host-test-env.js";

let env: HostTestEnv;
beforeEach(async () => {
  env = await makeHostTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});

/** Collects records and resolves `seen` once a message containing `marker` arrives. */
function collectingLogger(marker: string): Logger & { records: HostLogRecord[]; seen: Promise<void> } {
  const records: HostLogRecord[] = [];
  let resolve!: () => void;
  const seen = new Promise<void>((r) => (resolve = r));
  return {
    records,
    seen,
    log(record) {
      records.push(record);
      if (record.message.includes(marker)) resolve();
    },
  };
}

/** A real garbage collection, so heap figures show what is retained rather than garbage not yet collected. */
function exposeGc(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

describe("plugin logs", () => {
  it("re-logs JSON stderr lines at their level and other output as debug records", async () => {
    const logger = collectingLogger("fixture: done");
    const plugin = await launchFixture(env, "chatty", { logger });
    await logger.seen;
    await plugin.close();
    const by = (m: string) => logger.records.find((r) => r.message.includes(m));
    expect(by("disk is slow")).toEqual({
      level: "warn",
      message: "disk is slow",
      plugin: "fixture",
      module: "fixture.disk",
      timestamp: "2026-01-02T03:04:05.123456Z",
      fields: { ms: 40 },
      source: "stderr-json",
    });
    expect(by("detail")).toMatchObject({ level: "debug", source: "stderr-json" });
    expect(by("plain text on stderr")).toMatchObject({
      level: "debug",
      message: "fixture: plain text on stderr",
      source: "stderr-text",
    });
    expect(by("stray stdout line")).toMatchObject({
      level: "debug",
      message: "fixture: stray stdout line",
      source: "stdout",
    });
    const long = by("xxxx");
    expect(long?.message.endsWith("[line cut]")).toBe(true);
    expect(long!.message.length).toBeLessThan(17 * 1024);
  });

  it("keeps host memory bounded and drops (and counts) lines past the rate limit while a plugin floods", async () => {
    let records = 0;
    let dropped = 0;
    const logger: Logger = {
      log(record) {
        records++;
        if (typeof record.fields.dropped === "number") dropped += record.fields.dropped;
      },
    };
    const gc = exposeGc();
    gc();
    const before = process.memoryUsage();
    const started = Date.now();
    const plugin = await launchFixture(env, "flood", { logger });
    // Calls still work while the flood runs.
    const deadline = Date.now() + 3000;
    let calls = 0;
    let peakRss = 0;
    while (Date.now() < deadline) {
      await expect(plugin.client.getIp({})).resolves.toEqual({ ip: "10.0.0.1" });
      calls++;
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    gc();
    const after = process.memoryUsage();
    await plugin.close();
    // Windows are one second each; on a loaded machine launch and close take longer.
    const windows = Math.ceil((Date.now() - started) / 1000) + 1;
    const mib = (n: number) => (n / 2 ** 20).toFixed(1);
    const heapGrowth = after.heapUsed - before.heapUsed;
    console.log(
      `flood: ${records} records logged, ${dropped} lines dropped in 3 s, ${calls} calls served; ` +
        `heap after GC ${mib(before.heapUsed)} -> ${mib(after.heapUsed)} MiB, rss ${mib(before.rss)} -> peak ${mib(peakRss)} MiB`,
    );
    // At most the budget per one-second window, plus a drop notice and the last 20
    // dropped lines each, over the windows the plugin ran in.
    expect(records).toBeLessThanOrEqual(windows * (MAX_LOG_LINES_PER_SECOND + 21));
    expect(records).toBeGreaterThan(MAX_LOG_LINES_PER_SECOND);
    expect(dropped).toBeGreaterThan(10_000);
    expect(calls).toBeGreaterThan(10);
    // Nothing of the flood is retained: the heap after GC is where it was. RSS peaks
    // with the garbage made between collections (it levels off in longer runs), so
    // its bound is only a backstop.
    expect(heapGrowth).toBeLessThan(8 * 2 ** 20);
    expect(peakRss - before.rss).toBeLessThan(256 * 2 ** 20);
  });
});

describe("plugin log bursts", () => {
  it("logs a burst's last lines and how many were dropped once the window ends", async () => {
    const logger = collectingLogger("fixture: burst done");
    const plugin = await launchFixture(env, "burst", { logger });
    await logger.seen;
    await plugin.close();
    const burst = logger.records.filter((r) => r.message.includes("burst"));
    const notices = logger.records
      .filter((r) => r.level === "warn" && r.message.includes("dropped"))
      .map((r) => r.fields.dropped as number);
    // On an idle machine the 10 001 lines arrive in one window: 2000 logged, 8001
    // dropped. On a loaded one they may span two or more; each window logs at most
    // its budget, and each notice is followed by the last 20 lines it dropped.
    expect(notices.length).toBeGreaterThan(0);
    const keptAfterNotices = notices.reduce((sum, d) => sum + Math.min(d, 20), 0);
    const loggedInWindows = burst.length - keptAfterNotices;
    expect(loggedInWindows).toBeLessThanOrEqual(MAX_LOG_LINES_PER_SECOND * (notices.length + 1));
    // Every line is either logged or counted as dropped, never both, never neither.
    expect(loggedInWindows + notices.reduce((sum, d) => sum + d, 0)).toBe(10_001);
    // The burst's last words are logged.
    const messages = burst.map((r) => r.message);
    expect(messages).toContain("fixture: burst line 9999");
    expect(messages).toContain("fixture: burst done");
  });
});

describe("stderrLogger", () => {
  const record = (level: HostLogRecord["level"]): HostLogRecord => ({
    level,
    message: `a ${level} message`,
    plugin: "fake",
    module: "fake.disk",
    timestamp: "",
    fields: {},
    source: "stderr-json",
  });

  it("writes info and above, and drops debug unless asked", () => {
    const lines: string[] = [];
    const logger = stderrLogger({ write: (t) => lines.push(t) });
    for (const level of ["trace", "debug", "info", "warn", "error"] as const) logger.log(record(level));
    expect(lines).toEqual([
      "[fake fake.disk] INFO a info message\n",
      "[fake fake.disk] WARN a warn message\n",
      "[fake fake.disk] ERROR a error message\n",
    ]);
  });

  it("writes debug records when its level is debug", () => {
    const lines: string[] = [];
    stderrLogger({ level: "debug", write: (t) => lines.push(t) }).log(record("debug"));
    expect(lines).toEqual(["[fake fake.disk] DEBUG a debug message\n"]);
  });
});

describe("stderrLogger's fields", () => {
  const base: HostLogRecord = {
    level: "error",
    message: "cannot start",
    plugin: "fake",
    module: "fake",
    timestamp: "",
    fields: {},
    source: "stderr-json",
  };

  it("shows each field, quoting what would be ambiguous and escaping what a terminal would run", () => {
    const lines: string[] = [];
    const logger = stderrLogger({ write: (t) => lines.push(t) });
    logger.log({ ...base, fields: { code: 3, dir: "/a b", ok: true, list: [1, "x"], empty: "", esc: "\x1b]0;t" } });
    expect(lines).toEqual([
      '[fake fake] ERROR cannot start code=3 dir="/a b" ok=true list=[1,"x"] empty="" esc="\\u001b]0;t"\n',
    ]);
  });

  it("puts multi-line values and messages on continuation lines no plugin text can start", () => {
    const lines: string[] = [];
    stderrLogger({ write: (t) => lines.push(t) }).log({
      ...base,
      message: "two\n[fake fake] INFO forged",
      fields: { error: "Error: boom\n    at f (x.js:1:1)" },
    });
    expect(lines).toEqual([
      "[fake fake] ERROR two\n  | [fake fake] INFO forged\n  | error=Error: boom\n  |     at f (x.js:1:1)\n",
    ]);
  });
});

describe("a host logger's level", () => {
  const SILENT = fileURLToPath(new URL("../fixtures/plugins/silent-driver.mjs", import.meta.url));
  const config = (machineName: string) =>
    Buffer.from(JSON.stringify({ ...CONFIG_DEFAULTS, machineName, storePath: join(env.scratch, machineName) }));

  /** The plugin's JSON records while it takes a SetConfig (a debug record) and a GetState left unanswered (a warn one). */
  async function recordsAt(level: LogLevel | undefined): Promise<HostLogRecord[]> {
    const records: HostLogRecord[] = [];
    const plugin = await launch("silent", {
      executable: SILENT,
      socketBaseDir: env.base,
      env: { FIXTURE_SILENT: "getState" },
      logger: { ...(level ? { level } : {}), log: (r) => void records.push(r) },
    });
    try {
      await plugin.client.setConfig({ configJson: config("m1") });
      await expect(plugin.client.getState({}, { timeoutMs: 300 })).rejects.toMatchObject({
        codeName: "DEADLINE_EXCEEDED",
      });
      await expect
        .poll(() => records.some((r) => r.message === "getState ended unanswered"), { timeout: 10_000 })
        .toBe(true);
    } finally {
      // Its output is read to the end before close() resolves.
      await plugin.close();
    }
    return records.filter((r) => r.source === "stderr-json");
  }

  it("reaches the plugin, which then writes no record below it", async () => {
    const warnAndUp = await recordsAt("warn");
    expect(warnAndUp.filter((r) => r.level === "debug" || r.level === "info")).toEqual([]);
    expect(warnAndUp.find((r) => r.message === "getState ended unanswered")?.level).toBe("warn");

    // A logger that names no level gets debug and above, as a go-plugin host does.
    const all = await recordsAt(undefined);
    expect(all.find((r) => r.message === "config set")?.level).toBe("debug");
    expect(all.find((r) => r.message === "getState ended unanswered")?.level).toBe("warn");
  });

  it("stderrLogger and silentLogger name theirs; a launch's own env value wins", async () => {
    expect(stderrLogger({ level: "warn" }).level).toBe("warn");
    expect(silentLogger.level).toBe("error");
    const records: HostLogRecord[] = [];
    const plugin = await launch("silent", {
      executable: SILENT,
      socketBaseDir: env.base,
      env: { DRIVERPLUG_LOG_LEVEL: "debug" },
      logger: { level: "error", log: (r) => void records.push(r) },
    });
    await plugin.client.setConfig({ configJson: config("m2") });
    await plugin.close();
    expect(records.find((r) => r.message === "config set")?.level).toBe("debug");
  });
});
