// How the host reports what its plugins log. A host application supplies a
// Logger; the default one writes info and above to the host's stderr, and
// debug too when DRIVERPLUG_TRACE is set.
import { DRIVERPLUG_TRACE } from "../protocol/env.js";
import { LOG_LEVELS, type LogLevel } from "../protocol/log-line.js";
import { printable } from "./printable-text.js";

export interface HostLogRecord {
  level: LogLevel;
  message: string;
  /** The plugin's name, e.g. "fake". */
  plugin: string;
  /** The plugin's @module, or "" for plain lines. */
  module: string;
  /** The plugin's @timestamp, or "" for plain lines. */
  timestamp: string;
  /** Any further fields of a JSON log line. */
  fields: Record<string, unknown>;
  /** Where the record came from. */
  source: "stderr-json" | "stderr-text" | "stdout";
}

export interface Logger {
  log(record: HostLogRecord): void;
}

export interface StderrLoggerOptions {
  /** The lowest level written; default "info", or "trace" when DRIVERPLUG_TRACE is set. */
  level?: LogLevel;
  write?: (text: string) => void;
}

export function stderrLogger(options: StderrLoggerOptions = {}): Logger {
  const min = LOG_LEVELS.indexOf(options.level ?? (process.env[DRIVERPLUG_TRACE] ? "trace" : "info"));
  const write = options.write ?? ((text: string) => void process.stderr.write(text));
  return {
    log(record) {
      if (LOG_LEVELS.indexOf(record.level) < min) return;
      // One record, one line: nothing a plugin wrote may reach the terminal raw or start a line.
      const module = record.module ? ` ${printable(record.module)}` : "";
      write(`[${printable(record.plugin)}${module}] ${record.level.toUpperCase()} ${printable(record.message)}\n`);
    },
  };
}

/** Drops everything; for hosts that do not want plugin logs. */
export const silentLogger: Logger = Object.freeze({ log() {} });
