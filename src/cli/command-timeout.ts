// How long a machine command waits for its driver: `--timeout <seconds>` on
// every machine command, or the command's default (long for the commands that
// change a machine, short for queries). The budget covers the plugin's start
// and every call the command makes; each call carries it as its deadline, so
// the driver's handler sees it too. When it runs out the user reads seconds,
// the call that went unanswered and how to wait longer.
import { Option } from "commander";
import { Code } from "../protocol/status.js";
import { ClientError } from "../host/client-error.js";
import { LaunchError } from "../host/launch-error.js";
import { CliError, EXIT_DRIVER } from "./cli-error.js";
import { parseSeconds } from "./commands/ls.js";
import { TurnTimeout } from "./plugin-pool.js";

/** Create, Start, Stop, Restart, Kill, Remove, UpdateConfig: as long as the host's deadline for these RPCs. */
export const CHANGE_TIMEOUT_S = 600;
/** status, ip, url, ssh-info, ssh, config get: the plugin's start and a query or two. */
export const QUERY_TIMEOUT_S = 30;

/** ls: each machine's plugin start and queries, side by side. */
export const LS_TIMEOUT_S = 10;

export type CommandKind = "change" | "query";

export function defaultTimeoutS(kind: CommandKind): number {
  return kind === "change" ? CHANGE_TIMEOUT_S : QUERY_TIMEOUT_S;
}

/** The `--timeout <seconds>` option of a machine command, with its default shown in --help. */
export function timeoutOption(kind: CommandKind): Option {
  return new Option(
    "--timeout <seconds>",
    "how long to wait for the driver (its plugin's start and its answers) before giving up",
  )
    .argParser(parseSeconds)
    .default(defaultTimeoutS(kind));
}

/** The value of `--timeout` on a command line, before parsing (create launches its driver first); undefined if absent or malformed. */
export function timeoutArg(argv: readonly string[]): number | undefined {
  let text: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") break;
    if (arg === "--timeout") text = argv[i + 1];
    else if (arg.startsWith("--timeout=")) text = arg.slice("--timeout=".length);
  }
  if (text === undefined) return undefined;
  try {
    return parseSeconds(text);
  } catch {
    return undefined;
  }
}

/** "5 s", "0.5 s", "600 s". */
export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/** Timers may fire a little before the deadline they were armed for, by the clock a deadline is read with. */
const CLOCK_SLACK_MS = 50;
/**
 * The command's signal fires this long after its calls' deadline: a call in
 * flight then ends by its deadline, which the driver sees as
 * DEADLINE_EXCEEDED, rather than by a cancel.
 */
export const SIGNAL_AFTER_DEADLINE_MS = 250;

/** The budget of one command's wait for its driver, counted from its start (create's; other commands take their turn's, plugin-pool.ts). */
export class CommandDeadline {
  /** Epoch ms when the budget runs out. */
  readonly at: number;
  private readonly timer: AbortSignal;

  constructor(
    readonly timeoutMs: number,
    now = Date.now(),
  ) {
    this.at = now + timeoutMs;
    this.timer = AbortSignal.timeout(Math.max(0, Math.min(timeoutMs + SIGNAL_AFTER_DEADLINE_MS, 2 ** 31 - 1)));
  }

  /** The deadline a call carries. */
  get date(): Date {
    return new Date(this.at);
  }

  get expired(): boolean {
    return budgetSpent(this.timer, this.at);
  }

  /** Fires when the budget runs out, or when `outer` does. */
  signal(outer: AbortSignal): AbortSignal {
    return AbortSignal.any([outer, this.timer]);
  }
}

/** True once a budget ending at `at` (whose timer is `timer`) is spent. */
export function budgetSpent(timer: AbortSignal, at: number): boolean {
  // The timer fires SIGNAL_AFTER_DEADLINE_MS after `at`, but the budget is spent at `at`.
  return timer.aborted || Date.now() >= at - CLOCK_SLACK_MS;
}

export interface TimedOutWork {
  driver: string;
  machine: string;
}

/**
 * The error to show for `err` when it is the budget running out (a call's
 * deadline or cancel, the plugin not starting in time); otherwise undefined.
 * `budget` is the command's when it is not a TurnTimeout that says so itself.
 */
export function timeoutFailure(
  err: unknown,
  budget: { timeoutMs: number; expired: boolean } | undefined,
  work: TimedOutWork,
): CliError | undefined {
  let timeoutMs: number;
  let cause: unknown = err;
  let beforeStart = false;
  if (err instanceof TurnTimeout) {
    timeoutMs = err.timeoutMs;
    cause = err.cause;
    beforeStart = err.beforeStart;
  } else if (budget?.expired) {
    timeoutMs = budget.timeoutMs;
  } else {
    return undefined;
  }
  // A LaunchError is a ClientError too (with no method): the plugin's start, not a call.
  const call = cause instanceof ClientError && !(cause instanceof LaunchError) ? cause : undefined;
  // A driver's own status (not a deadline or a cancel) is its answer, even after the budget ran out.
  if (call && call.code !== Code.DEADLINE_EXCEEDED && call.code !== Code.CANCELLED) return undefined;
  const what =
    beforeStart || cause instanceof LaunchError
      ? "did not start its plugin"
      : call
        ? `did not answer ${call.path.slice(call.path.lastIndexOf("/") + 1)} for machine ${JSON.stringify(work.machine)}`
        : `did not answer for machine ${JSON.stringify(work.machine)}`;
  return new CliError(`driver ${JSON.stringify(work.driver)} ${what} within ${seconds(timeoutMs)}`, EXIT_DRIVER, {
    code: "DEADLINE_EXCEEDED",
    hint: "give it longer with --timeout <seconds>; DRIVERPLUG_TRACE=1 shows what the driver logs meanwhile",
    cause: err,
  });
}
