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
/** Of the lines dropped in a window, the last ones are logged when it ends: a flood's last words often matter. */
const KEEP_DROPPED_LINES = 20;

type Source = "stdout" | "stderr";

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
  private lastDropped: { source: Source; line: Line }[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private openStreams = 2;
  private markEnded!: () => void;
  /** Resolves once stdout and stderr both ended: every byte the plugin wrote has been read. */
  readonly ended = new Promise<void>((resolve) => (this.markEnded = resolve));

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
      this.onStreamEnd();
    });
    stderr.on("data", (chunk: Buffer) => err.push(chunk));
    stderr.on("end", () => {
      err.end();
      this.onStreamEnd();
    });
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
    this.route("stdout", line);
  }

  private onStderrLine(line: Line): void {
    this.tail.add(line.text);
    this.route("stderr", line);
  }

  private route(source: Source, line: Line): void {
    if (this.budget.take()) {
      this.log(source, line);
      return;
    }
    this.lastDropped.push({ source, line });
    if (this.lastDropped.length > KEEP_DROPPED_LINES) this.lastDropped.shift();
    if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flushDropped(), this.budget.msLeftInWindow());
      // Pending logs must not keep the host alive.
      this.flushTimer.unref();
    }
  }

  /** Says how many lines were dropped, then logs the last of them. */
  private flushDropped(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const count = this.budget.takeDropped();
    if (count === 0) return;
    const kept = this.lastDropped;
    this.lastDropped = [];
    this.emit({
      level: "warn",
      message: `${this.plugin}: dropped ${count} output lines: the plugin wrote more than ${MAX_LOG_LINES_PER_SECOND} lines a second; the last ${kept.length} follow`,
      plugin: this.plugin,
      module: "",
      timestamp: "",
      fields: { dropped: count },
      source: "stderr-text",
    });
    for (const { source, line } of kept) this.log(source, line);
  }

  private onStreamEnd(): void {
    if (--this.openStreams > 0) return;
    this.flushDropped();
    this.markEnded();
  }

  private log(source: Source, line: Line): void {
    if (source === "stdout") {
      this.logText("stdout", line);
      return;
    }
    const record = line.cut ? undefined : parseLogLine(line.text);
    if (!record) {
      this.logText("stderr-text", line);
      return;
    }
    this.emit({ ...record, plugin: this.plugin, source: "stderr-json" });
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
