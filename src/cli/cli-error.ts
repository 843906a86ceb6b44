// The one error class of the CLI: a user-facing failure whose message is a
// single sentence saying what was wrong and what to do. runCli (run-cli.ts,
// through error-message.ts) prints it without a stack and returns its exit
// code, which main.ts exits with.

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** 128 + SIGINT, as shells report a command stopped by Ctrl-C. */
export const EXIT_INTERRUPTED = 130;

export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
    options?: { cause?: unknown },
  ) {
    super(message, options);
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
