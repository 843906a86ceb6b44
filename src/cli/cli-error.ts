// The one error class of the CLI: a user-facing failure whose message is a
// single sentence saying what was wrong and what to do. runCli (run-cli.ts,
// through error-message.ts) prints it without a stack and returns its exit
// code, which main.ts exits with.
// The exit codes, one per class of failure, are a contract with scripts and
// apps: `driverplug --help` lists them.

/** An unexpected error: a bug in driverplug or a driver. */
export const EXIT_FAILURE = 1;
/** A bad command line or input value. */
export const EXIT_USAGE = 2;
/** No such machine (in the store, or in the driver). */
export const EXIT_NOT_FOUND = 3;
/** Not possible in the machine's state: running, busy (locked), already exists, damaged store entry. */
export const EXIT_PRECONDITION = 4;
/** The driver failed the operation (its own error, no answer in time, not supported). */
export const EXIT_DRIVER = 5;
/** The driver's plugin cannot be found, started or reached. */
export const EXIT_UNAVAILABLE = 6;
/** The host ran out of room: a full disk or a used-up quota. */
export const EXIT_NO_SPACE = 7;
/** 128 + SIGINT, as shells report a command stopped by Ctrl-C. */
export const EXIT_INTERRUPTED = 130;

/** Every exit code with the name --json errors carry for it (gRPC's names where they fit) and its meaning. */
export const EXIT_CODES: readonly { code: number; name: string; meaning: string }[] = [
  { code: 0, name: "OK", meaning: "success" },
  { code: EXIT_FAILURE, name: "UNEXPECTED", meaning: "unexpected error (please report it)" },
  { code: EXIT_USAGE, name: "USAGE", meaning: "bad command line or input value" },
  { code: EXIT_NOT_FOUND, name: "NOT_FOUND", meaning: "no such machine" },
  {
    code: EXIT_PRECONDITION,
    name: "FAILED_PRECONDITION",
    meaning: "not possible in the machine's state (running, busy, exists)",
  },
  { code: EXIT_DRIVER, name: "DRIVER_ERROR", meaning: "the driver failed, did not answer in time or lacks it" },
  { code: EXIT_UNAVAILABLE, name: "UNAVAILABLE", meaning: "the driver's plugin cannot be found, started or reached" },
  { code: EXIT_NO_SPACE, name: "RESOURCE_EXHAUSTED", meaning: "the disk is full (or the quota used up): free space" },
  { code: EXIT_INTERRUPTED, name: "INTERRUPTED", meaning: "interrupted by Ctrl-C (cleaned up)" },
];

/** The name of an exit code's class, e.g. "NOT_FOUND" for 3. */
export function exitCodeName(code: number): string {
  return EXIT_CODES.find((c) => c.code === code)?.name ?? "UNEXPECTED";
}

export interface CliErrorOptions {
  cause?: unknown;
  /** What to do about it; shown after the message, and on its own in --json's "hint". */
  hint?: string;
  /** The failure's name for --json when it is a driver's status (e.g. "FAILED_PRECONDITION"); default the exit code's. */
  code?: string;
}

export class CliError extends Error {
  override name = "CliError";
  readonly hint: string | undefined;
  readonly code: string | undefined;
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
    options: CliErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
    this.code = options.code;
  }
}

/**
 * Ends a command with an exit code and no message of driverplug's own: the
 * program it ran (ssh) has already said what happened.
 */
export class ExitWith extends CliError {
  override name = "ExitWith";
  constructor(exitCode: number) {
    super(`exited with status ${exitCode}`, exitCode);
  }
}
