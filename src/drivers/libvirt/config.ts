// The libvirt driver's config: its JSON schema, defaults and validation.
// Every refusal is an INVALID_ARGUMENT whose message names the field (for
// the URI, also the part of it that is wrong).
import { invalidArgument, jsonConfig } from "../../plugin/index.js";
import {
  absolutePath,
  checkFields,
  describe,
  int,
  machineName,
  text,
  type ConfigSchema,
  type FieldCheck,
} from "../config-fields.js";
import type { AcceleratorChoice } from "../guest/accelerator.js";
import {
  acceleratorField,
  bundleNameField,
  bundlePathField,
  COMMON_DEFAULTS,
  SIZE_FIELDS,
} from "../guest/common-settings.js";
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
  bundlePath: COMMON_DEFAULTS.bundlePath,
  bundleName: COMMON_DEFAULTS.bundleName,
  uri: DEFAULT_URI,
  cpus: COMMON_DEFAULTS.cpus,
  memoryMiB: COMMON_DEFAULTS.memoryMiB,
  diskGiB: COMMON_DEFAULTS.diskGiB,
  network: "user",
  accelerator: COMMON_DEFAULTS.accelerator,
  stopTimeoutMs: 60_000,
  bootTimeoutMs: 300_000,
});

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

const SCHEMA: ConfigSchema<LibvirtConfig> = {
  driver: "libvirt",
  defaults: CONFIG_DEFAULTS,
  required: ["machineName", "storePath"],
  fields: {
    machineName,
    storePath: absolutePath(),
    bundlePath: bundlePathField,
    bundleName: bundleNameField,
    uri,
    ...SIZE_FIELDS,
    network: text(
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
      'use "user" or the name of a libvirt network (letters, digits, ".", "_", "-")',
    ),
    accelerator: acceleratorField,
    stopTimeoutMs: int(0, 3_600_000),
    bootTimeoutMs: int(1_000, 3_600_000),
  },
};

export function validateConfig(value: unknown): LibvirtConfig {
  return checkFields(value, SCHEMA);
}

/** The config as it travels: `decode` parses, validates and fills in defaults; `encode` gives GetConfig's bytes. */
export const configCodec = jsonConfig(validateConfig);
