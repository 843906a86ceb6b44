// How the host reports what its plugins log. A host application supplies a
// Logger; the default one writes info and above to the host's stderr (every
// level, trace and debug included, when DRIVERPLUG_TRACE is set), with the
// record's fields: `key=value` on the record's line, and a multi-line value
// (a stack) or message on continuation lines marked "  | ".
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
  /**
   * The lowest level this logger keeps, if it drops lower ones: launch()
   * passes it to the plugin (DRIVERPLUG_LOG_LEVEL), whose logger then makes
   * and writes no record below it. Without it a plugin writes debug and above.
   */
  readonly level?: LogLevel;
}

export interface StderrLoggerOptions {
  /** The lowest level written; default "info", or "trace" when DRIVERPLUG_TRACE is set. */
  level?: LogLevel;
  write?: (text: string) => void;
}

export function stderrLogger(options: StderrLoggerOptions = {}): Logger {
  const level = options.level ?? (process.env[DRIVERPLUG_TRACE] ? "trace" : "info");
  const min = LOG_LEVELS.indexOf(level);
  const write = options.write ?? ((text: string) => void process.stderr.write(text));
  return {
    level,
    log(record) {
      if (LOG_LEVELS.indexOf(record.level) < min) return;
      // Nothing a plugin wrote may reach the terminal raw or start a line that looks like a record.
      const module = record.module ? ` ${printable(record.module)}` : "";
      const [first = "", ...more] = record.message.split("\n");
      const inline: string[] = [];
      const block = more.map((line) => `  | ${printable(line)}`);
      for (const [key, value] of Object.entries(record.fields)) {
        const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
        const [head = "", ...rest] = text.split("\n");
        if (rest.length === 0)
          inline.push(` ${printable(key)}=${typeof value === "string" ? shown(text) : printable(text)}`);
        else block.push(`  | ${printable(key)}=${printable(head)}`, ...rest.map((line) => `  | ${printable(line)}`));
      }
      const head = `[${printable(record.plugin)}${module}] ${record.level.toUpperCase()} ${printable(first)}`;
      write(`${[head + inline.join(""), ...block].join("\n")}\n`);
    },
  };
}

/** A value as it stands after `key=`: bare when that is unambiguous, else quoted and escaped as JSON. */
function shown(text: string): string {
  return printable(/^[^\s"=\\\x00-\x1f\x7f-\x9f]+$/.test(text) ? text : JSON.stringify(text));
}

/** Drops everything; for hosts that do not want plugin logs (their plugins write errors only). */
export const silentLogger: Logger = Object.freeze({ level: "error", log() {} });
