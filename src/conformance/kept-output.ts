// How much of a plugin's output one check keeps. The plugin under test is
// untrusted: a Create that streams progress without end, or a WatchState or
// a log that floods, must end its check with "stream too large" (a FAIL that
// says so), not grow the kit until the machine runs out of memory.
import { fail } from "./check.js";

/** Messages of one stream a check keeps; far more than any operation's progress needs. */
export const MAX_STREAM_MESSAGES = 10_000;
/** Bytes (about: the strings and byte fields) of one stream a check keeps. */
export const MAX_STREAM_BYTES = 8 * 1024 * 1024;
/** Log records of one plugin the kit keeps for the hygiene checks. */
export const MAX_LOG_RECORDS = 20_000;
/** Bytes of log text (messages and fields) of one plugin the kit keeps. */
export const MAX_LOG_BYTES = 8 * 1024 * 1024;

/** About how many bytes a decoded message holds: its strings and byte arrays, a few levels deep. */
export function approximateBytes(value: unknown, depth = 0): number {
  if (typeof value === "string") return value.length;
  if (value instanceof Uint8Array) return value.byteLength;
  if (typeof value !== "object" || value === null || depth > 4) return 8;
  let n = 8;
  for (const v of Object.values(value)) n += approximateBytes(v, depth + 1);
  return n;
}

/** Counts a stream's messages and fails the check once it holds more than a check keeps. */
export class StreamBudget {
  private count = 0;
  private bytes = 0;

  constructor(private readonly what: string) {}

  add(message: unknown): void {
    this.count++;
    this.bytes += approximateBytes(message);
    if (this.count > MAX_STREAM_MESSAGES || this.bytes > MAX_STREAM_BYTES)
      fail(
        `${this.what}: stream too large: the plugin sent over ${this.count > MAX_STREAM_MESSAGES ? `${MAX_STREAM_MESSAGES} messages` : `${MAX_STREAM_BYTES / 1024 / 1024} MiB`}, ` +
          `far more than the call needs; the kit stopped reading it there`,
      );
  }
}
