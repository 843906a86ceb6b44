// A long operation (Create or Start stream) kept running while a check acts
// on the plugin: it tells when the first progress event came, whether the
// stream has ended and how, and can cancel it. Checks that act "during" an
// operation need one that lasts: when it ends too soon to tell, they skip
// (no slow config given) or fail (the slow config promised a long one).
import type { ClientError } from "../host/client-error.js";
import type { CallOptions } from "../host/call-options.js";
import { fail, skip } from "./check.js";
import type { CheckContext } from "./check-context.js";
import { drain, type StreamOutcome } from "./expectations.js";
import type { SlowOperation } from "./kit-settings.js";

export class InFlight<T> {
  private readonly ac = new AbortController();
  /** "event" once the first message arrived, "ended" when the stream ended before any. */
  readonly first: Promise<"event" | "ended">;
  readonly done: Promise<StreamOutcome<T>>;
  ended = false;
  endedAt = 0;
  private result: StreamOutcome<T> | undefined;

  constructor(open: (options: CallOptions) => AsyncIterable<T>, options: CallOptions = {}, what = "the stream") {
    const stream = open({ ...options, signal: this.ac.signal });
    let firstSeen: (v: "event" | "ended") => void = () => {};
    this.first = new Promise((resolve) => (firstSeen = resolve));
    const counted: AsyncIterable<T> = {
      async *[Symbol.asyncIterator]() {
        for await (const message of stream) {
          firstSeen("event");
          yield message;
        }
      },
    };
    this.done = drain(counted, what).then(
      (r) => {
        this.ended = true;
        this.endedAt = Date.now();
        this.result = r;
        firstSeen("ended");
        return r;
      },
      (err: unknown) => {
        // "stream too large": the check fails where it awaits `done` (or `first`).
        this.ended = true;
        firstSeen("ended");
        throw err;
      },
    );
    // Not every check awaits `done`; its failure must not become an unhandled rejection meanwhile.
    this.done.catch(() => undefined);
  }

  /** The stream's error once ended, undefined when it ended OK or runs. */
  get error(): ClientError | undefined {
    return this.result?.error;
  }

  cancel(): void {
    this.ac.abort();
  }
}

/**
 * The operation ended before the check could act. With a slow config for it
 * the driver promised a long operation, so that is a failure that says
 * exactly how to proceed; without one the check cannot tell and skips,
 * saying how to make it run.
 */
export function tooFast(ctx: CheckContext, what: string, operation: SlowOperation): never {
  const option = `--slow-${operation.toLowerCase()}-config`;
  if (ctx.hasSlowConfig(operation))
    fail(
      `${what}, even with the slow ${operation} config: give a ${option} that makes ${operation} last a few seconds; ` +
        `if your driver's ${operation} is quick by nature, give no slow ${operation} config (${option}, not --slow-config) ` +
        `and this check is skipped, or leave it out with --skip ${JSON.stringify(`^${escapeRegExp(ctx.checkId)}$`)}`,
    );
  skip(
    `${what}, too soon to act during it; give a slow ${operation} config (${option}, or --slow-config for Create and Start) that makes it last a few seconds`,
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Waits for the first progress event of `op`, or calls tooFast when the stream ended first. */
export async function awaitFirstEvent(
  ctx: CheckContext,
  op: InFlight<unknown>,
  operation: SlowOperation,
): Promise<void> {
  if ((await op.first) === "ended") {
    if (op.error) fail(`${operation}: expected it to run, it ended with ${op.error.codeName}: ${op.error.details}`);
    tooFast(ctx, `${operation} finished before its first progress event`, operation);
  }
}
