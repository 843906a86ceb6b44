// A small structured logger for the plugin and the driver: one JSON line per
// record on stderr, in the format go-plugin hosts re-log at their level.
import { DRIVERPLUG_LOG_LEVEL, DRIVERPLUG_TRACE } from "../protocol/env.js";
import { formatLogLine, LOG_LEVELS, parseLogLevel, type LogLevel } from "../protocol/log-line.js";
import { callLogFields } from "./call-scope.js";
import { writeRawStderr } from "./process-output.js";

export type LogFields = Record<string, unknown>;

export interface Logger {
  trace(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger for a sub-module: "fake" under "driverplug" logs as "driverplug.fake". */
  child(module: string): Logger;
}

export type LogSink = (line: string) => void;

/**
 * The lowest level written, read once per logger: trace with DRIVERPLUG_TRACE;
 * else the host's DRIVERPLUG_LOG_LEVEL; else debug (trace is chatty: only when
 * asked for). A value that names no level is ignored, so a host's typo never
 * costs a record.
 */
function lowestLevel(): LogLevel {
  if (process.env[DRIVERPLUG_TRACE]) return "trace";
  const asked = process.env[DRIVERPLUG_LOG_LEVEL];
  return (asked === undefined ? undefined : parseLogLevel(asked)) ?? "debug";
}

export function createLogger(module: string, sink: LogSink = (line) => writeRawStderr(`${line}\n`)): Logger {
  const lowest = LOG_LEVELS.indexOf(lowestLevel());
  const emit = (level: LogLevel) => {
    // A level below what the host keeps costs nothing: no record is made or written.
    if (LOG_LEVELS.indexOf(level) < lowest) return () => {};
    return (message: string, fields?: LogFields) => {
      // The current call's fields (call-scope.ts: a trace id, say) come first; the line's own win.
      const scoped = callLogFields();
      const all = scoped ? { ...scoped, ...fields } : fields;
      sink(formatLogLine(level, message, module, all ? jsonSafe(all) : {}));
    };
  };
  return {
    trace: emit("trace"),
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    child: (sub) => createLogger(`${module}.${sub}`, sink),
  };
}

/** Errors serialise as {} in JSON: log their message and stack instead. */
function jsonSafe(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value instanceof Error) out[key] = value.stack ?? `${value.name}: ${value.message}`;
    else if (typeof value === "bigint") out[key] = value.toString();
    else out[key] = value;
  }
  return out;
}
