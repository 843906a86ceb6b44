// Reads a plugin's stdout and stderr for as long as it runs: the first stdout
// line is the handshake; stderr JSON lines become log records at their level;
// plain stderr lines and later stdout lines become debug records. Everything
// is bounded (line length, stderr tail, lines logged per second) so a flood
// costs neither memory nor the host's event loop.
import type { Readable } from "node:stream";
import { parseLogLine } from "../protocol/log-line.js";
import type { HostLogRecord, Logger } from "./host-logger.js";
import { LineBudget } from "./line-budget.js";
import { LineSplitter, type Line } from "./line-splitter.js";
import { StderrTail } from "./stderr-tail.js";

/** A handshake line may carry a certificate; 64 KiB is parseHandshake's own limit. */
const MAX_STDOUT_LINE = 64 * 1024 + 1;
const MAX_STDERR_LINE = 16 * 1024;
/** Far above what a healthy plugin logs; a flood past it is dropped and counted. */
export const MAX_LOG_LINES_PER_SECOND = 2000;

export interface FirstLineEvents {
  line(line: Line): void;
  /** stdout ended before it wrote anything. */
  end(): void;
}

export class PluginOutput {
  readonly tail = new StderrTail();
  private firstLine: FirstLineEvents | undefined;
  private sawFirstLine = false;
  private readonly budget = new LineBudget(MAX_LOG_LINES_PER_SECOND);

  constructor(
    private readonly plugin: string,
    private readonly logger: Logger,
    stdout: Readable,
    stderr: Readable,
  ) {
    const out = new LineSplitter(MAX_STDOUT_LINE, (line) => this.onStdoutLine(line));
    const err = new LineSplitter(MAX_STDERR_LINE, (line) => this.onStderrLine(line));
    stdout.on("data", (chunk: Buffer) => out.push(chunk));
    stdout.on("end", () => {
      out.end();
      if (!this.sawFirstLine) this.firstLine?.end();
    });
    stderr.on("data", (chunk: Buffer) => err.push(chunk));
    stderr.on("end", () => err.end());
    // A read error on a pipe means the plugin is going away; its exit reports that.
    stdout.on("error", () => {});
    stderr.on("error", () => {});
  }

  /** Delivers the first stdout line (the handshake) to `events`. */
  onFirstLine(events: FirstLineEvents): void {
    this.firstLine = events;
  }

  private onStdoutLine(line: Line): void {
    if (!this.sawFirstLine) {
      this.sawFirstLine = true;
      this.firstLine?.line(line);
      return;
    }
    if (this.withinBudget()) this.logText("stdout", line);
  }

  private onStderrLine(line: Line): void {
    this.tail.add(line.text);
    if (!this.withinBudget()) return;
    const record = line.cut ? undefined : parseLogLine(line.text);
    if (!record) {
      this.logText("stderr-text", line);
      return;
    }
    this.emit({ ...record, plugin: this.plugin, source: "stderr-json" });
  }

  private withinBudget(): boolean {
    return this.budget.take((count) =>
      this.emit({
        level: "warn",
        message: `${this.plugin}: dropped ${count} output lines: the plugin wrote more than ${MAX_LOG_LINES_PER_SECOND} lines a second`,
        plugin: this.plugin,
        module: "",
        timestamp: "",
        fields: { dropped: count },
        source: "stderr-text",
      }),
    );
  }

  /** A throwing Logger must not take down the host from inside a stream callback. */
  private emit(record: HostLogRecord): void {
    try {
      this.logger.log(record);
    } catch {
      // Logging is best effort; the plugin keeps running either way.
    }
  }

  private logText(source: "stdout" | "stderr-text", line: Line): void {
    if (line.text === "") return;
    const suffix = line.cut ? " [line cut]" : "";
    this.emit({
      level: "debug",
      message: `${this.plugin}: ${line.text}${suffix}`,
      plugin: this.plugin,
      module: "",
      timestamp: "",
      fields: {},
      source,
    });
  }
}
