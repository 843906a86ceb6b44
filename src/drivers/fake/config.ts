// The fake driver's config: its JSON schema, defaults and validation. Every
// refusal is an INVALID_ARGUMENT whose message names the field.
import { isAbsolute } from "node:path";
import { invalidArgument, jsonConfig, type SharedDir } from "../../plugin/index.js";

export interface FakeConfig {
  machineName: string;
  storePath: string;
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
  networks: string[];
  /** Delay per progress step, so tests and demos can watch (or abort) a slow operation. */
  stepDelayMs: number;
  bundleName: string;
  nestedVirtualization: boolean;
  sharedDirs: SharedDir[];
}

export const CONFIG_DEFAULTS: Readonly<Omit<FakeConfig, "machineName" | "storePath">> = Object.freeze({
  cpus: 2,
  memoryMiB: 2048,
  diskGiB: 20,
  networks: ["default"],
  stepDelayMs: 0,
  bundleName: "fake-bundle-1.0",
  nestedVirtualization: false,
  sharedDirs: [],
});

type FieldCheck = (value: unknown, field: string) => unknown;

const int =
  (min: number, max: number): FieldCheck =>
  (value, field) => {
    if (typeof value !== "number" || !Number.isInteger(value))
      throw invalidArgument(`config field "${field}" must be an integer, got ${describe(value)}`);
    if (value < min || value > max)
      throw invalidArgument(`config field "${field}" must be between ${min} and ${max}, got ${value}`);
    return value;
  };

const bool: FieldCheck = (value, field) => {
  if (typeof value !== "boolean")
    throw invalidArgument(`config field "${field}" must be true or false, got ${describe(value)}`);
  return value;
};

const text =
  (pattern?: RegExp, hint?: string): FieldCheck =>
  (value, field) => {
    if (typeof value !== "string" || value === "")
      throw invalidArgument(`config field "${field}" must be a non-empty string, got ${describe(value)}`);
    if (pattern && !pattern.test(value))
      throw invalidArgument(`config field "${field}" is ${JSON.stringify(value)}: ${hint}`);
    return value;
  };

const absolutePath: FieldCheck = (value, field) => {
  const path = text()(value, field) as string;
  if (!isAbsolute(path))
    throw invalidArgument(`config field "${field}" must be an absolute path, got ${JSON.stringify(path)}`);
  return path;
};

const networkList: FieldCheck = (value, field) => {
  if (!Array.isArray(value) || value.length === 0)
    throw invalidArgument(`config field "${field}" must be a non-empty list of network names, got ${describe(value)}`);
  return value.map((item, i) =>
    text(/^[A-Za-z0-9._-]{1,64}$/, "use letters, digits, '.', '_' or '-'")(item, `${field}[${i}]`),
  );
};

const SHARED_DIR_FIELDS: Record<keyof SharedDir, "string" | "boolean"> = {
  source: "string",
  target: "string",
  tag: "string",
  type: "string",
  readOnly: "boolean",
  username: "string",
  password: "string",
};

const sharedDirList: FieldCheck = (value, field) => {
  if (!Array.isArray(value))
    throw invalidArgument(`config field "${field}" must be a list of shared directories, got ${describe(value)}`);
  return value.map((item, i) => sharedDir(item, `${field}[${i}]`));
};

function sharedDir(value: unknown, field: string): SharedDir {
  if (!isObject(value)) throw invalidArgument(`config field "${field}" must be an object, got ${describe(value)}`);
  for (const [key, v] of Object.entries(value)) {
    // Own keys only: "toString" or "__proto__" must not find Object.prototype's members.
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
  const dir = { tag: "", type: "virtiofs", readOnly: false, username: "", password: "", ...value } as SharedDir;
  absolutePath(dir.source, `${field}.source`);
  absolutePath(dir.target, `${field}.target`);
  return dir;
}

const FIELDS: Record<keyof FakeConfig, FieldCheck> = {
  machineName: text(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
    "use up to 63 letters, digits, '.', '_' or '-', starting with a letter or digit",
  ),
  storePath: absolutePath,
  cpus: int(1, 64),
  memoryMiB: int(128, 1024 * 1024),
  diskGiB: int(1, 64 * 1024),
  networks: networkList,
  stepDelayMs: int(0, 60_000),
  bundleName: text(),
  nestedVirtualization: bool,
  sharedDirs: sharedDirList,
};

const REQUIRED: ReadonlyArray<keyof FakeConfig> = ["machineName", "storePath"];

export function validateConfig(value: unknown): FakeConfig {
  if (!isObject(value)) throw invalidArgument(`config must be a JSON object, got ${describe(value)}`);
  for (const field of REQUIRED) {
    if (!(field in value)) throw invalidArgument(`config field "${field}" is required`);
  }
  const merged: Record<string, unknown> = { ...CONFIG_DEFAULTS, ...value };
  const out: Record<string, unknown> = {};
  for (const [field, v] of Object.entries(merged)) {
    const check = Object.hasOwn(FIELDS, field) ? FIELDS[field as keyof FakeConfig] : undefined;
    if (!check)
      throw invalidArgument(
        `config field "${field}" is unknown; the fake driver accepts ${Object.keys(FIELDS).join(", ")}`,
      );
    out[field] = check(v, field);
  }
  return out as unknown as FakeConfig;
}

/** The config as it travels: `decode` parses, validates and fills in defaults; `encode` gives GetConfig's bytes. */
export const configCodec = jsonConfig(validateConfig);

/** The config for logs: shared-directory passwords never appear. */
export function redactedConfig(config: FakeConfig): Record<string, unknown> {
  return { ...config, sharedDirs: config.sharedDirs.map((d) => ({ ...d, password: d.password ? "[redacted]" : "" })) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}
