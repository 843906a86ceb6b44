// Typed create flags for driver authors: `intFlag("cpus", { default: 1, env:
// "X_CPUS", usage })` is both the descriptor GetCreateFlags returns and the
// reader of the value SetConfigFromFlags brings back, so a driver never
// spells out FlagValue's oneof. A value of the wrong type, or a flag the
// driver does not have, is INVALID_ARGUMENT naming the flag.
import { FlagType, type CreateFlag, type FlagValue } from "../../generated/driverplug/driver/v1/driver.js";
import {
  boolValue,
  CASE_OF_TYPE,
  flagTypeName,
  intValue,
  stringListValue,
  stringValue,
} from "../protocol/flag-values.js";
import { invalidArgument } from "./driver-error.js";

export interface FlagOptions<T> {
  /** What the host's --help shows. */
  usage?: string;
  /** The value when the user gives none; omitted: no default. */
  default?: T;
  /** An environment variable the host reads a value from when no flag is given. */
  env?: string;
}

/** A create flag (send it in GetCreateFlags as it is) that also reads its value. */
export interface FlagDescriptor<N extends string = string, T = unknown> extends CreateFlag {
  readonly name: N;
  /** The plain value of this flag in SetConfigFromFlags; INVALID_ARGUMENT naming the flag if the type is wrong. */
  read(value: FlagValue): T;
}

/** What readFlags returns: each flag given, by name, as its plain type. */
export type FlagValues<F extends readonly FlagDescriptor[]> = {
  [D in F[number] as D["name"]]?: D extends FlagDescriptor<string, infer T> ? T : never;
};

function descriptor<N extends string, T>(
  name: N,
  type: FlagType,
  options: FlagOptions<T>,
  toValue: (value: T) => FlagValue,
  fromValue: (kind: NonNullable<FlagValue["kind"]>, name: string) => T,
): FlagDescriptor<N, T> {
  if (!/^[a-z0-9][a-z0-9-]*$/i.test(name))
    throw new TypeError(`flag name ${JSON.stringify(name)}: use letters, digits and "-" (it becomes --${name})`);
  return {
    name,
    type,
    usage: options.usage ?? "",
    envVar: options.env ?? "",
    defaultValue: options.default === undefined ? undefined : toValue(options.default),
    read(value) {
      const kind = value.kind;
      if (!kind || kind.$case !== CASE_OF_TYPE[type]) {
        throw invalidArgument(
          `flag "${name}" takes ${flagTypeName(type)}, got ${kind ? flagTypeName(typeOfCase(kind.$case)) : "no value"}`,
        );
      }
      return fromValue(kind, name);
    },
  };
}

function typeOfCase(c: string): FlagType {
  const found = Object.entries(CASE_OF_TYPE).find(([, value]) => value === c);
  return found ? (Number(found[0]) as FlagType) : FlagType.FLAG_TYPE_UNSPECIFIED;
}

function safeInteger(value: number, what: string): number {
  if (!Number.isSafeInteger(value)) throw new TypeError(`${what} must be a safe integer, got ${value}`);
  return value;
}

export function intFlag<const N extends string>(name: N, options: FlagOptions<number> = {}): FlagDescriptor<N, number> {
  if (options.default !== undefined) safeInteger(options.default, `intFlag("${name}")'s default`);
  return descriptor(name, FlagType.FLAG_TYPE_INT, options, intValue, (kind) => {
    const v = kind.value as bigint;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER))
      throw invalidArgument(`flag "${name}" is out of range: ${v}`);
    return Number(v);
  });
}

export function stringFlag<const N extends string>(
  name: N,
  options: FlagOptions<string> = {},
): FlagDescriptor<N, string> {
  return descriptor(name, FlagType.FLAG_TYPE_STRING, options, stringValue, (kind) => kind.value as string);
}

export function stringListFlag<const N extends string>(
  name: N,
  options: FlagOptions<readonly string[]> = {},
): FlagDescriptor<N, string[]> {
  return descriptor<N, string[]>(
    name,
    FlagType.FLAG_TYPE_STRING_LIST,
    options as FlagOptions<string[]>,
    stringListValue,
    (kind) => [...(kind.value as { values: string[] }).values],
  );
}

export function boolFlag<const N extends string>(
  name: N,
  options: FlagOptions<boolean> = {},
): FlagDescriptor<N, boolean> {
  return descriptor(name, FlagType.FLAG_TYPE_BOOL, options, boolValue, (kind) => kind.value as boolean);
}

/**
 * SetConfigFromFlags' values read by type: `{ cpus: 4, network: ["a"] }` for
 * the flags given (flags not given are absent: the driver keeps its config).
 */
export function readFlags<const F extends readonly FlagDescriptor[]>(
  flags: F,
  values: Readonly<Record<string, FlagValue>>,
): FlagValues<F> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    const flag = flags.find((f) => f.name === name);
    if (!flag) {
      const known = flags.map((f) => f.name).join(", ");
      throw invalidArgument(
        `unknown flag "${name}"; ${known === "" ? "this driver has no flags" : `the flags are ${known}`}`,
      );
    }
    out[name] = flag.read(value);
  }
  return out as FlagValues<F>;
}
