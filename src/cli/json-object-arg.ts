// Command-line arguments that carry a JSON object of driver config fields
// (create --config, config update): parsed with a usage error that shows an
// example of what is expected.
import { CliError, EXIT_USAGE } from "./cli-error.js";

/** `what` names the argument in the error, e.g. "--config"; `driver`, when known, whose config fields it holds. */
export function parseJsonObjectArg(
  text: string,
  what: string,
  example: string,
  driver?: string,
): Record<string, unknown> {
  const fields = driver === undefined ? "config fields" : `driver ${JSON.stringify(driver)}'s config fields`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliError(
      `${what} is not JSON (${(err as Error).message}): give an object of ${fields} such as '${example}'`,
      EXIT_USAGE,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CliError(`${what} must be a JSON object of ${fields}, such as '${example}'`, EXIT_USAGE);
  }
  return value as Record<string, unknown>;
}
