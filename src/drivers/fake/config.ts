// The fake driver's config: its JSON schema, defaults and validation. Every
// refusal is an INVALID_ARGUMENT whose message names the field.
import { invalidArgument, jsonConfig, type SharedDir } from "../../plugin/index.js";
import {
  absolutePath,
  bool,
  checkFields,
  describe,
  int,
  machineName,
  sharedDirList,
  text,
  type ConfigSchema,
  type FieldCheck,
} from "../config-fields.js";

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

const networkList: FieldCheck = (value, field) => {
  if (!Array.isArray(value) || value.length === 0)
    throw invalidArgument(`config field "${field}" must be a non-empty list of network names, got ${describe(value)}`);
  return value.map((item, i) =>
    text(/^[A-Za-z0-9._-]{1,64}$/, "use letters, digits, '.', '_' or '-'")(item, `${field}[${i}]`),
  );
};

const SCHEMA: ConfigSchema<FakeConfig> = {
  driver: "fake",
  defaults: CONFIG_DEFAULTS,
  required: ["machineName", "storePath"],
  fields: {
    machineName,
    storePath: absolutePath(),
    cpus: int(1, 64),
    memoryMiB: int(128, 1024 * 1024),
    diskGiB: int(1, 64 * 1024),
    networks: networkList,
    stepDelayMs: int(0, 60_000),
    bundleName: text(),
    nestedVirtualization: bool,
    sharedDirs: (value, field) =>
      sharedDirList(value, field, () => ({ tag: "", type: "virtiofs", readOnly: false, username: "", password: "" })),
  },
};

export function validateConfig(value: unknown): FakeConfig {
  return checkFields(value, SCHEMA);
}

/** The config as it travels: `decode` parses, validates and fills in defaults; `encode` gives GetConfig's bytes. */
export const configCodec = jsonConfig(validateConfig);

/** The config for logs: shared-directory passwords never appear. */
export function redactedConfig(config: FakeConfig): Record<string, unknown> {
  return { ...config, sharedDirs: config.sharedDirs.map((d) => ({ ...d, password: d.password ? "[redacted]" : "" })) };
}
