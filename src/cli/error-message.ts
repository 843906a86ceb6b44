// Turns whatever a command threw into the one line the user sees (plus, for a
// missing plugin, the places looked): the plugin's own status message for
// driver errors, with a hint of what to do where the status code implies one.
import { Code } from "../protocol/status.js";
import { CommanderError } from "commander";
import { ClientError } from "../host/client-error.js";
import { printable } from "../host/printable-text.js";
import { CliError, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE } from "./cli-error.js";
import { PLUGIN_DIRS_ENV } from "./driver-launcher.js";
import { Interrupted } from "./interrupt.js";

export interface Failure {
  message: string;
  exitCode: number;
  /** Only for unexpected errors: shown with DRIVERPLUG_DEBUG=1. */
  stack?: string;
}

const HINTS: Partial<Record<number, string>> = {
  [Code.NOT_FOUND]: "the driver has no such machine",
  [Code.UNIMPLEMENTED]: "this driver does not support it",
  [Code.DEADLINE_EXCEEDED]: "the driver did not answer in time; retry, or check the machine",
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
    };
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode };
  if (err instanceof CommanderError) return { message: err.message.replace(/^error: /, ""), exitCode: EXIT_USAGE };
  if (err instanceof ClientError && err.reason !== "call") {
    const hint = err.reason === "not-found" ? ` (driverplug's plugin dirs: $${PLUGIN_DIRS_ENV}, ":"-separated)` : "";
    return { message: `${err.message}${hint}`, exitCode: EXIT_FAILURE };
  }
  if (err instanceof ClientError) {
    const hint = HINTS[err.code];
    const details = err.details === "" ? "(no message)" : printable(err.details);
    return {
      message: `${methodName(err.path)} failed (${err.codeName}): ${details}${hint ? ` (${hint})` : ""}`,
      exitCode: EXIT_FAILURE,
    };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    message: `unexpected error: ${e.message} (set DRIVERPLUG_DEBUG=1 for the stack; please report it)`,
    exitCode: EXIT_FAILURE,
    ...(e.stack !== undefined ? { stack: e.stack } : {}),
  };
}
