// Machine names become directory names in the store and lock file names, so
// they are limited to a safe alphabet that cannot escape the store or hide.

import { CliError, EXIT_USAGE } from "./cli-error.js";

const MACHINE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function isValidMachineName(name: string): boolean {
  return MACHINE_NAME.test(name);
}

/** Returns the name, or throws a usage error that says which names are allowed. */
export function checkMachineName(name: string): string {
  if (!isValidMachineName(name)) {
    throw new CliError(
      `invalid machine name ${JSON.stringify(name)}: use 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. "dev-1")`,
      EXIT_USAGE,
    );
  }
  return name;
}
