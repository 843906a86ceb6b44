// Turns a driver's typed create flags (GetCreateFlags) into command-line
// options, and the options given (or their environment variables) back into
// the typed values SetConfigFromFlags takes. Only flags the user set are sent:
// the driver applies its own defaults to the rest.
import { InvalidArgumentError, Option, type OptionValues } from "commander";
import { FlagType, type CreateFlag, type FlagValue } from "../../generated/driverplug/driver/v1/driver.js";
import { boolValue, intValue, stringListValue, stringValue } from "../protocol/flag-values.js";
import { printable } from "../host/printable-text.js";
import { CliError } from "./cli-error.js";

const FLAG_NAME = /^[a-z0-9][a-z0-9-]*$/i;
/** Far more than any driver needs; 50 000 flags took commander 20 s to set up. */
export const MAX_CREATE_FLAGS = 256;

export interface DriverFlagOptions {
  /** The options to add to the create command, in the driver's order. */
  options: Option[];
  /** Reads the parsed options (then the environment) into SetConfigFromFlags values. */
  collect(parsed: OptionValues, env?: NodeJS.ProcessEnv): Record<string, FlagValue>;
}

/**
 * Builds the options of one driver's flags. `reserved` are the create
 * command's own long option names; a driver flag may not shadow them.
 */
export function driverFlagOptions(
  driver: string,
  flags: readonly CreateFlag[],
  reserved: readonly string[],
  helpGroup?: string,
): DriverFlagOptions {
  const options: Option[] = [];
  const attributes = new Map<string, string>();
  if (flags.length > MAX_CREATE_FLAGS) {
    throw new CliError(
      `driver ${JSON.stringify(driver)} declares ${flags.length} create flags, more than the ${MAX_CREATE_FLAGS} driverplug takes; report this to the driver's author`,
    );
  }
  const names = new Set<string>();
  for (const flag of flags) {
    // A bool flag also makes --no-<name>: both names must be free.
    const made = flag.type === FlagType.FLAG_TYPE_BOOL ? [flag.name, `no-${flag.name}`] : [flag.name];
    for (const n of made) {
      if (names.has(n)) {
        throw new CliError(
          `driver ${JSON.stringify(driver)} declares the create flag --${n} twice; report this to the driver's author`,
        );
      }
      names.add(n);
    }
  }
  for (const flag of flags) {
    if (!FLAG_NAME.test(flag.name)) {
      throw new CliError(
        `driver ${JSON.stringify(driver)} declares a create flag named ${JSON.stringify(flag.name)}, which is not a valid option name; report this to the driver's author`,
      );
    }
    // A flag --no-config would negate create's own --config.
    const negates = flag.name.startsWith("no-") && reserved.includes(flag.name.slice(3));
    if (reserved.includes(flag.name) || reserved.includes(`no-${flag.name}`) || negates) {
      throw new CliError(
        `driver ${JSON.stringify(driver)} declares a create flag --${flag.name}, which clashes with driverplug's own option; report this to the driver's author`,
      );
    }
    const option = optionFor(flag);
    if (helpGroup !== undefined) option.helpGroup(helpGroup);
    options.push(option);
    attributes.set(flag.name, option.attributeName());
    if (flag.type === FlagType.FLAG_TYPE_BOOL) {
      // --no-<name> turns off a flag whose default is true; its attribute is the same.
      options.push(new Option(`--no-${flag.name}`).hideHelp());
    }
  }
  return {
    options,
    collect(parsed, env = process.env) {
      const values: Record<string, FlagValue> = {};
      for (const flag of flags) {
        const given: unknown = parsed[attributes.get(flag.name) ?? flag.name];
        if (given !== undefined) {
          values[flag.name] = toFlagValue(flag, given);
          continue;
        }
        const fromEnv = flag.envVar === "" ? undefined : env[flag.envVar];
        if (fromEnv !== undefined && fromEnv !== "") values[flag.name] = parseEnvValue(flag, fromEnv);
      }
      return values;
    },
  };
}

function optionFor(flag: CreateFlag): Option {
  const description = printable(`${flag.usage} (${describeFlag(flag)})`);
  switch (flag.type) {
    case FlagType.FLAG_TYPE_BOOL:
      return new Option(`--${flag.name}`, description);
    case FlagType.FLAG_TYPE_INT:
      return new Option(`--${flag.name} <int>`, description).argParser((value: string) => {
        const n = parseInteger(value);
        if (n === undefined) throw new InvalidArgumentError(`Expected an integer.`);
        return n;
      });
    case FlagType.FLAG_TYPE_STRING_LIST:
      return new Option(`--${flag.name} <list>`, description).argParser(
        (value: string, previous: string[] | undefined) => [...(previous ?? []), ...splitList(value)],
      );
    default:
      return new Option(`--${flag.name} <string>`, description);
  }
}

/** "int, default: 2, env: FAKE_CPUS": what --help shows after the usage. */
export function describeFlag(flag: CreateFlag): string {
  const parts = [typeName(flag.type)];
  if (flag.type === FlagType.FLAG_TYPE_STRING_LIST) parts[0] += ", repeat or comma-separate";
  if (flag.type === FlagType.FLAG_TYPE_BOOL) parts[0] += `, --no-${flag.name} to turn off`;
  if (flag.defaultValue?.kind !== undefined) parts.push(`default: ${formatFlagValue(flag.defaultValue)}`);
  if (flag.envVar !== "") parts.push(`env: ${flag.envVar}`);
  return parts.join(", ");
}

export function typeName(type: FlagType): string {
  switch (type) {
    case FlagType.FLAG_TYPE_BOOL:
      return "bool";
    case FlagType.FLAG_TYPE_INT:
      return "int";
    case FlagType.FLAG_TYPE_STRING_LIST:
      return "string list";
    default:
      return "string";
  }
}

export function formatFlagValue(value: FlagValue): string {
  const kind = value.kind;
  switch (kind?.$case) {
    case "stringValue":
      return JSON.stringify(kind.value);
    case "stringListValue":
      return kind.value.values.join(",");
    case "intValue":
    case "boolValue":
      return String(kind.value);
    default:
      return "none";
  }
}

function toFlagValue(flag: CreateFlag, given: unknown): FlagValue {
  switch (flag.type) {
    case FlagType.FLAG_TYPE_BOOL:
      return boolValue(given === true);
    case FlagType.FLAG_TYPE_INT:
      return intValue(given as bigint);
    case FlagType.FLAG_TYPE_STRING_LIST:
      return stringListValue(given as string[]);
    default:
      return stringValue(String(given));
  }
}

function parseEnvValue(flag: CreateFlag, text: string): FlagValue {
  const bad = (expected: string) =>
    new CliError(
      `environment variable ${flag.envVar}=${JSON.stringify(text)} (for --${flag.name}) is not ${expected}: fix or unset it`,
    );
  switch (flag.type) {
    case FlagType.FLAG_TYPE_BOOL: {
      const b = parseBoolean(text);
      if (b === undefined) throw bad("a boolean (true/false, 1/0, yes/no, on/off)");
      return boolValue(b);
    }
    case FlagType.FLAG_TYPE_INT: {
      const n = parseInteger(text);
      if (n === undefined) throw bad("an integer");
      return intValue(n);
    }
    case FlagType.FLAG_TYPE_STRING_LIST:
      return stringListValue(splitList(text));
    default:
      return stringValue(text);
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function parseInteger(text: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(text.trim())) return undefined;
  const n = BigInt(text.trim());
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

export function parseBoolean(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(t)) return true;
  if (["0", "false", "no", "off"].includes(t)) return false;
  return undefined;
}

export function splitList(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}
