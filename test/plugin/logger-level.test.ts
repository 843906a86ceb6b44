// The plugin logger's lowest level: DRIVERPLUG_LOG_LEVEL from the host,
// trace only when asked for, and a value that names no level ignored.
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/plugin/logger.js";
import { DRIVERPLUG_LOG_LEVEL, DRIVERPLUG_TRACE } from "../../src/protocol/env.js";

const saved = { level: process.env[DRIVERPLUG_LOG_LEVEL], trace: process.env[DRIVERPLUG_TRACE] };
afterEach(() => {
  for (const [name, value] of [
    [DRIVERPLUG_LOG_LEVEL, saved.level],
    [DRIVERPLUG_TRACE, saved.trace],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

/** The levels of the records a logger made under the given environment writes, one call per level. */
function written(env: { level?: string; trace?: string }): string[] {
  delete process.env[DRIVERPLUG_LOG_LEVEL];
  delete process.env[DRIVERPLUG_TRACE];
  if (env.level !== undefined) process.env[DRIVERPLUG_LOG_LEVEL] = env.level;
  if (env.trace !== undefined) process.env[DRIVERPLUG_TRACE] = env.trace;
  const lines: string[] = [];
  const log = createLogger("t", (line) => lines.push(line)).child("sub");
  log.trace("m");
  log.debug("m");
  log.info("m");
  log.warn("m");
  log.error("m");
  return lines.map((line) => (JSON.parse(line) as { "@level": string })["@level"]);
}

describe("the plugin logger's level", () => {
  it("writes debug and above by default, trace only with DRIVERPLUG_TRACE", () => {
    expect(written({})).toEqual(["debug", "info", "warn", "error"]);
    expect(written({ trace: "1" })).toEqual(["trace", "debug", "info", "warn", "error"]);
  });

  it("writes nothing below the host's DRIVERPLUG_LOG_LEVEL, spelled as hclog or a person would", () => {
    expect(written({ level: "warn" })).toEqual(["warn", "error"]);
    expect(written({ level: "WARNING" })).toEqual(["warn", "error"]);
    expect(written({ level: "info" })).toEqual(["info", "warn", "error"]);
    expect(written({ level: "trace" })).toEqual(["trace", "debug", "info", "warn", "error"]);
    // Tracing asked for by a person wins over the host's level.
    expect(written({ level: "error", trace: "1" })).toEqual(["trace", "debug", "info", "warn", "error"]);
  });

  it("ignores a value that names no level rather than lose records to it", () => {
    expect(written({ level: "verbose" })).toEqual(["debug", "info", "warn", "error"]);
    expect(written({ level: "" })).toEqual(["debug", "info", "warn", "error"]);
  });
});
