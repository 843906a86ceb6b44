// The bundled drivers' config schemas are built from these field checks: each
// check takes a value and the field's name and returns the value or throws an
// INVALID_ARGUMENT whose message names the field, so every driver refuses a
// bad config in the same words. A driver keeps only its own fields, defaults
// and cross-field rules.
import { isAbsolute } from "node:path";
import { invalidArgument, type SharedDir } from "../plugin/index.js";

export type FieldCheck = (value: unknown, field: string) => unknown;

export const int =
  (min: number, max: number): FieldCheck =>
  (value, field) => {
    if (typeof value !== "number" || !Number.isInteger(value))
      throw invalidArgument(`config field "${field}" must be an integer, got ${describe(value)}`);
    if (value < min || value > max)
      throw invalidArgument(`config field "${field}" must be between ${min} and ${max}, got ${value}`);
    return value;
  };

export const bool: FieldCheck = (value, field) => {
  if (typeof value !== "boolean")
    throw invalidArgument(`config field "${field}" must be true or false, got ${describe(value)}`);
  return value;
};

/** A string, non-empty unless `allowEmpty`; a non-empty one must match `pattern` (`hint` says how). */
export const text =
  (pattern?: RegExp, hint?: string, allowEmpty = false): FieldCheck =>
  (value, field) => {
    if (typeof value !== "string" || (value === "" && !allowEmpty))
      throw invalidArgument(`config field "${field}" must be a non-empty string, got ${describe(value)}`);
    if (pattern && value !== "" && !pattern.test(value))
      throw invalidArgument(`config field "${field}" is ${JSON.stringify(value)}: ${hint}`);
    return value;
  };

/** An absolute path (or "" with `allowEmpty`); NUL and newline are refused, no tool takes them. */
export const absolutePath =
  (allowEmpty = false): FieldCheck =>
  (value, field) => {
    const path = text(undefined, undefined, allowEmpty)(value, field) as string;
    if (path !== "" && !isAbsolute(path))
      throw invalidArgument(`config field "${field}" must be an absolute path, got ${JSON.stringify(path)}`);
    if (/[\0\n]/.test(path)) throw invalidArgument(`config field "${field}" holds a NUL or newline character`);
    return path;
  };

export const oneOf =
  <T extends string>(values: readonly T[]): FieldCheck =>
  (value, field) => {
    if (typeof value !== "string" || !values.includes(value as T))
      throw invalidArgument(`config field "${field}" must be one of ${values.join(", ")}, got ${describe(value)}`);
    return value;
  };

/** Machine names: what every bundled driver accepts (it becomes a directory and a domain name). */
export const machineName = text(
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
  "use up to 63 letters, digits, '.', '_' or '-', starting with a letter or digit",
);

export interface ConfigSchema<C> {
  /** "qemu": the driver's name, for the message listing its fields. */
  driver: string;
  fields: { readonly [K in keyof C]-?: FieldCheck };
  defaults: Readonly<Partial<C>>;
  required: ReadonlyArray<keyof C & string>;
}

/** The config with defaults filled in, every field checked; an unknown field is refused with the known ones. */
export function checkFields<C>(value: unknown, schema: ConfigSchema<C>): C {
  if (!isObject(value)) throw invalidArgument(`config must be a JSON object, got ${describe(value)}`);
  for (const field of schema.required) {
    if (!(field in value)) throw invalidArgument(`config field "${field}" is required`);
  }
  const merged: Record<string, unknown> = { ...schema.defaults, ...value };
  const out: Record<string, unknown> = {};
  for (const [field, v] of Object.entries(merged)) {
    // Own keys only: "toString" or "__proto__" must not find Object.prototype's members.
    const check = Object.hasOwn(schema.fields, field) ? schema.fields[field as keyof C] : undefined;
    if (!check)
      throw invalidArgument(
        `config field "${field}" is unknown; the ${schema.driver} driver accepts ${Object.keys(schema.fields).join(", ")}`,
      );
    out[field] = check(v, field);
  }
  return out as C;
}

const SHARED_DIR_FIELDS: Record<keyof SharedDir, "string" | "boolean"> = {
  source: "string",
  target: "string",
  tag: "string",
  type: "string",
  readOnly: "boolean",
  username: "string",
  password: "string",
};

/**
 * A list of shared directories: each entry an object of SharedDir's fields with
 * the right types, filled from `defaults(index)`, source and target absolute,
 * then held to what the driver's sharing mechanism allows (`check`).
 */
export function sharedDirList(
  value: unknown,
  field: string,
  defaults: (index: number) => Omit<SharedDir, "source" | "target">,
  check?: (dir: SharedDir, field: string) => void,
): SharedDir[] {
  if (!Array.isArray(value))
    throw invalidArgument(`config field "${field}" must be a list of shared directories, got ${describe(value)}`);
  return value.map((item, i) => {
    const dir = sharedDir(item, `${field}[${i}]`, defaults(i));
    check?.(dir, `${field}[${i}]`);
    return dir;
  });
}

function sharedDir(value: unknown, field: string, defaults: Omit<SharedDir, "source" | "target">): SharedDir {
  if (!isObject(value)) throw invalidArgument(`config field "${field}" must be an object, got ${describe(value)}`);
  for (const [key, v] of Object.entries(value)) {
    const kind = Object.hasOwn(SHARED_DIR_FIELDS, key) ? SHARED_DIR_FIELDS[key as keyof SharedDir] : undefined;
    if (!kind)
      throw invalidArgument(
        `config field "${field}.${key}" is unknown; a shared directory has ${Object.keys(SHARED_DIR_FIELDS).join(", ")}`,
      );
    // Never echo the password's value, even in an error.
    if (typeof v !== kind)
      throw invalidArgument(
        `config field "${field}.${key}" must be a ${kind}, got ${key === "password" ? "another type" : describe(v)}`,
      );
  }
  const dir = { ...defaults, ...value } as SharedDir;
  absolutePath()(dir.source, `${field}.source`);
  absolutePath()(dir.target, `${field}.target`);
  return dir;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value for an error message: its type, or a string cut short. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}
