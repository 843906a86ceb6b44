// Log lines on a plugin's stderr in go-plugin's (hclog's) JSON format: one
// object a line with @level, @message, @timestamp and @module, plus fields.
// go-plugin hosts re-log such lines at their level; other lines are debug.

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";

export const LOG_LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warn", "error"];

export interface LogRecord {
  level: LogLevel;
  message: string;
  module: string;
  /** ISO 8601 UTC with exactly 6 fractional digits. */
  timestamp: string;
  fields: Record<string, unknown>;
}

/** hclog's timestamp: microseconds, though JS clocks give milliseconds. */
export function formatTimestamp(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export function formatLogLine(
  level: LogLevel,
  message: string,
  module: string,
  fields: Record<string, unknown> = {},
  now = new Date(),
): string {
  return JSON.stringify({
    ...fields,
    "@level": level,
    "@message": message,
    "@module": module,
    "@timestamp": formatTimestamp(now),
  });
}

/**
 * Reads one stderr line: a LogRecord when it is a JSON object with a known
 * @level and a string @message, else undefined (the caller logs it as text).
 */
export function parseLogLine(line: string): LogRecord | undefined {
  if (!line.startsWith("{")) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const {
    "@level": level,
    "@message": message,
    "@module": module,
    "@timestamp": timestamp,
    ...fields
  } = value as Record<string, unknown>;
  const normalized = typeof level === "string" ? parseLogLevel(level) : undefined;
  if (normalized === undefined || typeof message !== "string") return undefined;
  return {
    level: normalized,
    message,
    module: typeof module === "string" ? module : "",
    timestamp: typeof timestamp === "string" ? timestamp : "",
    fields,
  };
}

/** A level's name as hclog or a person writes it ("WARN", "warning"), or undefined when it names none. */
export function parseLogLevel(level: string): LogLevel | undefined {
  const l = level.toLowerCase();
  if (l === "warning") return "warn";
  return (LOG_LEVELS as readonly string[]).includes(l) ? (l as LogLevel) : undefined;
}
