// Turns whatever a command threw into the one line the user sees (plus, for a
// missing plugin, the places looked): the plugin's own status message for
// driver errors, with a hint of what to do where the status code implies one.
import { Code } from "../protocol/status.js";
import { CommanderError } from "commander";
import { ClientError } from "../host/client-error.js";
import { printable } from "../host/printable-text.js";
import {
  CliError,
  EXIT_DRIVER,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_NO_SPACE,
  EXIT_NOT_FOUND,
  EXIT_PRECONDITION,
  EXIT_UNAVAILABLE,
  EXIT_USAGE,
  exitCodeName,
} from "./cli-error.js";
import { PLUGIN_DIRS_ENV } from "./driver-launcher.js";
import { diskFullMessage, DISK_FULL_HINT, driverDiskFull, isDiskFull } from "./disk-full.js";
import { Interrupted } from "./interrupt.js";
import type { KeptRecord } from "./kept-log-records.js";

export interface Failure {
  /** What went wrong, without the hint. */
  message: string;
  exitCode: number;
  /** The failure's name for apps (--json): the driver's gRPC code name, else the exit code's class. */
  code: string;
  /** What to do about it, when the failure's kind says; failureText() adds it to the message. */
  hint?: string;
  /** Only for unexpected errors: shown with DRIVERPLUG_DEBUG=1. */
  stack?: string;
}

const HINTS: Partial<Record<number, string>> = {
  [Code.NOT_FOUND]: "the driver has no such machine",
  [Code.UNIMPLEMENTED]: "this driver does not support it",
  [Code.DEADLINE_EXCEEDED]: "the driver did not answer in time; retry, or check the machine",
};

/** The exit code of a driver's status: its class of failure. */
const EXIT_OF_STATUS: Partial<Record<number, number>> = {
  [Code.INVALID_ARGUMENT]: EXIT_USAGE,
  [Code.NOT_FOUND]: EXIT_NOT_FOUND,
  [Code.ALREADY_EXISTS]: EXIT_PRECONDITION,
  [Code.FAILED_PRECONDITION]: EXIT_PRECONDITION,
  [Code.UNAVAILABLE]: EXIT_UNAVAILABLE,
};

/** The method's short name, e.g. "GetIP" from "/driverplug.driver.v1.DriverService/GetIP". */
function methodName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

export function describeFailure(err: unknown, interrupted: boolean): Failure {
  if (interrupted || err instanceof Interrupted)
    return {
      message: "interrupted by Ctrl-C: stopped cleanly, no plugin left running and no lock held",
      exitCode: EXIT_INTERRUPTED,
      code: exitCodeName(EXIT_INTERRUPTED),
    };
  if (err instanceof CliError)
    return {
      message: err.message,
      exitCode: err.exitCode,
      code: err.code ?? exitCodeName(err.exitCode),
      ...(err.hint !== undefined ? { hint: err.hint } : {}),
    };
  if (isDiskFull(err))
    return {
      message: diskFullMessage(err),
      exitCode: EXIT_NO_SPACE,
      code: exitCodeName(EXIT_NO_SPACE),
      hint: DISK_FULL_HINT,
    };
  if (err instanceof CommanderError)
    return { message: err.message.replace(/^error: /, ""), exitCode: EXIT_USAGE, code: exitCodeName(EXIT_USAGE) };
  if (err instanceof ClientError && err.reason !== "call") {
    // The plugin could not be found, started or trusted.
    const hint =
      err.reason === "not-found" ? `driverplug's plugin dirs: $${PLUGIN_DIRS_ENV}, ":"-separated` : undefined;
    return {
      message: err.message,
      exitCode: EXIT_UNAVAILABLE,
      code: exitCodeName(EXIT_UNAVAILABLE),
      ...(hint ? { hint } : {}),
    };
  }
  if (err instanceof ClientError) {
    const hint = driverDiskFull(err) ? DISK_FULL_HINT : HINTS[err.code];
    const details = err.details === "" ? "(no message)" : printable(err.details);
    return {
      message: `${methodName(err.path)} failed (${err.codeName}): ${details}`,
      exitCode: EXIT_OF_STATUS[err.code] ?? EXIT_DRIVER,
      code: err.codeName,
      ...(hint ? { hint } : {}),
    };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    message: `unexpected error: ${e.message} (set DRIVERPLUG_DEBUG=1 for the stack; please report it)`,
    exitCode: EXIT_FAILURE,
    code: exitCodeName(EXIT_FAILURE),
    ...(e.stack !== undefined ? { stack: e.stack } : {}),
  };
}

/** A failure as one line for people: the message, then the hint in parentheses. */
export function failureText(failure: Failure): string {
  return failure.hint === undefined ? failure.message : `${failure.message} (${failure.hint})`;
}

/** A failure as the one JSON object --json writes on stderr: the hint in its own field, not in the message. */
export function failureJson(failure: Failure, machine: string | undefined, logs: readonly KeptRecord[] = []): string {
  const error = {
    code: failure.code,
    exitCode: failure.exitCode,
    message: failure.message,
    machine: machine ?? null,
    hint: failure.hint ?? null,
    // What the plugins logged (warnings and errors), here rather than as lines beside the object.
    logs,
  };
  return `${JSON.stringify({ error })}\n`;
}
