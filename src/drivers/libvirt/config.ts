// The libvirt driver's config: its JSON schema, defaults and validation.
// Every refusal is an INVALID_ARGUMENT whose message names the field (for
// the URI, also the part of it that is wrong).
import { isAbsolute } from "node:path";
import { invalidArgument } from "../../plugin/index.js";
import type { AcceleratorChoice } from "../guest/accelerator.js";
import { DEFAULT_URI, parseLibvirtUri, UriError } from "./rpc/connection-uri.js";

export interface LibvirtConfig {
  machineName: string;
  storePath: string;
  /** The bundle directory the machine is (or will be) made from. */
  bundlePath: string;
  /** "name-version" of the bundle, recorded by Create. */
  bundleName: string;
  /** The libvirt URI: qemu:///session, qemu:///system or qemu+ssh://[user@]host[:port]/session[?keyfile=...]. */
  uri: string;
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
  /** "user" (user-mode networking with an SSH forward on the hypervisor's loopback) or a libvirt network's name. */
  network: string;
  accelerator: AcceleratorChoice;
  /** How long Stop waits after the ACPI shutdown before it destroys the domain. */
  stopTimeoutMs: number;
  /** How long Start waits for the guest to be ready. */
  bootTimeoutMs: number;
}

export const CONFIG_DEFAULTS: Readonly<Omit<LibvirtConfig, "machineName" | "storePath">> = Object.freeze({
  bundlePath: "",
  bundleName: "",
  uri: DEFAULT_URI,
  cpus: 2,
  memoryMiB: 1024,
  diskGiB: 20,
  network: "user",
  accelerator: "auto",
  stopTimeoutMs: 60_000,
  bootTimeoutMs: 300_000,
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

const text =
  (pattern: RegExp, hint: string, allowEmpty = false): FieldCheck =>
  (value, field) => {
    if (typeof value !== "string" || (value === "" && !allowEmpty))
      throw invalidArgument(`config field "${field}" must be a non-empty string, got ${describe(value)}`);
    if (value !== "" && !pattern.test(value))
      throw invalidArgument(`config field "${field}" is ${JSON.stringify(value)}: ${hint}`);
    return value;
  };

const absolutePath =
  (allowEmpty = false): FieldCheck =>
  (value, field) => {
    if (typeof value !== "string" || (value === "" && !allowEmpty))
      throw invalidArgument(`config field "${field}" must be a non-empty string, got ${describe(value)}`);
    if (value !== "" && !isAbsolute(value))
      throw invalidArgument(`config field "${field}" must be an absolute path, got ${JSON.stringify(value)}`);
    if (/[\0\n]/.test(value)) throw invalidArgument(`config field "${field}" holds a NUL or newline character`);
    return value;
  };

const uri: FieldCheck = (value, field) => {
  if (typeof value !== "string")
    throw invalidArgument(`config field "${field}" must be a libvirt URI string, got ${describe(value)}`);
  try {
    return parseLibvirtUri(value).text;
  } catch (err) {
    if (err instanceof UriError) throw invalidArgument(`config field "${field}" (${err.part}): ${err.message}`);
    throw err;
  }
};

const FIELDS: Record<keyof LibvirtConfig, FieldCheck> = {
  machineName: text(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
    "use up to 63 letters, digits, '.', '_' or '-', starting with a letter or digit",
  ),
  storePath: absolutePath(),
  bundlePath: absolutePath(true),
  bundleName: text(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,128}$/, "a bundle name is name-version", true),
  uri,
  cpus: int(1, 64),
  memoryMiB: int(64, 1024 * 1024),
  diskGiB: int(1, 64 * 1024),
  network: text(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'use "user" or the name of a libvirt network (letters, digits, ".", "_", "-")',
  ),
  accelerator: (value, field) => {
    if (value !== "auto" && value !== "kvm" && value !== "tcg")
      throw invalidArgument(`config field "${field}" must be one of auto, kvm, tcg, got ${describe(value)}`);
    return value;
  },
  stopTimeoutMs: int(0, 3_600_000),
  bootTimeoutMs: int(1_000, 3_600_000),
};

const REQUIRED: ReadonlyArray<keyof LibvirtConfig> = ["machineName", "storePath"];

export function parseConfig(bytes: Uint8Array): LibvirtConfig {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (err) {
    throw invalidArgument(`config is not valid JSON: ${(err as Error).message}`);
  }
  return validateConfig(value);
}

export function validateConfig(value: unknown): LibvirtConfig {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw invalidArgument(`config must be a JSON object, got ${describe(value)}`);
  for (const field of REQUIRED) {
    if (!(field in value)) throw invalidArgument(`config field "${field}" is required`);
  }
  const merged: Record<string, unknown> = { ...CONFIG_DEFAULTS, ...value };
  const out: Record<string, unknown> = {};
  for (const [field, v] of Object.entries(merged)) {
    const check = Object.hasOwn(FIELDS, field) ? FIELDS[field as keyof LibvirtConfig] : undefined;
    if (!check)
      throw invalidArgument(
        `config field "${field}" is unknown; the libvirt driver accepts ${Object.keys(FIELDS).join(", ")}`,
      );
    out[field] = check(v, field);
  }
  return out as unknown as LibvirtConfig;
}

export function serializeConfig(config: LibvirtConfig): Buffer {
  return Buffer.from(JSON.stringify(config));
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}
