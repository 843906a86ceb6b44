// Under --json, stderr holds one JSON object and nothing else: the plugins'
// log records (warnings and errors, every level with DRIVERPLUG_TRACE) and
// Node's own process warnings are kept here instead of printed, and a failure
// carries them in its "logs" field. Plugin text is untrusted: the newest
// records only, each cut to a bounded size.
import type { HostLogRecord, Logger } from "../host/host-logger.js";
import { LOG_LEVELS, type LogLevel } from "../protocol/log-line.js";

/** The newest records kept; older ones are counted in `dropped`. */
export const MAX_KEPT_RECORDS = 50;
/** Characters kept of a message or of a field's text. */
export const MAX_KEPT_TEXT = 4096;
/** Fields kept per record. */
const MAX_KEPT_FIELDS = 32;

export interface KeptRecord {
  level: LogLevel;
  /** The plugin's name, or "node" for a warning of the CLI's own process. */
  source: string;
  module: string;
  message: string;
  fields: Record<string, string>;
}

function cut(text: string): string {
  return text.length > MAX_KEPT_TEXT ? `${text.slice(0, MAX_KEPT_TEXT)}... (${text.length} characters)` : text;
}

export class KeptLogRecords {
  private readonly kept: KeptRecord[] = [];
  /** Records left out because newer ones took their place. */
  dropped = 0;

  constructor(private readonly minLevel: LogLevel) {}

  /** A Logger for launch(): records below the level are dropped, the others kept. */
  logger(): Logger {
    const min = LOG_LEVELS.indexOf(this.minLevel);
    return {
      level: this.minLevel,
      log: (record: HostLogRecord) => {
        if (LOG_LEVELS.indexOf(record.level) >= min) this.keep(fromHost(record));
      },
    };
  }

  /** A warning of this process (Node's "Warning: ..."), which would otherwise be printed beside the JSON. */
  keepWarning(warning: Error): void {
    this.keep({ level: "warn", source: "node", module: warning.name, message: cut(warning.message), fields: {} });
  }

  records(): KeptRecord[] {
    return [...this.kept];
  }

  private keep(record: KeptRecord): void {
    this.kept.push(record);
    if (this.kept.length > MAX_KEPT_RECORDS) {
      this.kept.shift();
      this.dropped++;
    }
  }
}

function fromHost(record: HostLogRecord): KeptRecord {
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(record.fields).slice(0, MAX_KEPT_FIELDS)) {
    fields[cut(key)] = cut(typeof value === "string" ? value : (JSON.stringify(value) ?? String(value)));
  }
  return {
    level: record.level,
    source: cut(record.plugin),
    module: cut(record.module),
    message: cut(record.message),
    fields,
  };
}
