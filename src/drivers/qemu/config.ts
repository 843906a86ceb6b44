// The qemu driver's config: its JSON schema, defaults and validation. Every
// refusal is an INVALID_ARGUMENT whose message names the field; a store path
// too long for the machine's socket paths is refused here, at SetConfig, not
// when QEMU later fails to bind.
import { type SharedDir, invalidArgument, jsonConfig } from "../../plugin/index.js";
import {
  absolutePath,
  checkFields,
  int,
  machineName,
  oneOf,
  sharedDirList,
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
import { socketPathProblem } from "./machine-files.js";

export interface QemuConfig {
  machineName: string;
  storePath: string;
  /** The bundle directory the machine is (or will be) made from; or "" with imagePath. */
  bundlePath: string;
  /** A disk image (qcow2 or raw) the machine is made from, booted by firmware; or "" with bundlePath. */
  imagePath: string;
  /** "name-version" of the bundle (or the image's file name), recorded by Create. */
  bundleName: string;
  /** The firmware a disk image boots with: BIOS (SeaBIOS), UEFI (OVMF), or auto (BIOS when the image has MBR boot code, else UEFI). */
  firmware: FirmwareChoice;
  /** The user a disk image's seed creates, with the machine's key (bundles name their own). */
  sshUser: string;
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
  accelerator: AcceleratorChoice;
  /** The host port forwarded to the guest's SSH; 0 = pick a free one at Create (then kept). */
  sshPort: number;
  sharedDirs: SharedDir[];
  /**
   * What the guest may reach through QEMU's user network: "isolated" (nothing
   * outside itself, neither the host nor the internet; the machine's SSH
   * forward still works) or "nat" (the internet, and every service on the
   * host's 127.0.0.1, which the guest sees as 10.0.2.2).
   */
  network: GuestNetwork;
  /** How long Stop waits for the guest to power off after the ACPI button before it quits QEMU. */
  stopTimeoutMs: number;
  /** How long Start waits for the guest to be ready (TCG boots are slow on busy hosts). */
  bootTimeoutMs: number;
  /** The QEMU system emulator: a name looked up on PATH, or an absolute path. */
  qemuBinary: string;
}

export type FirmwareChoice = "auto" | "bios" | "uefi";
export type GuestNetwork = "isolated" | "nat";

/**
 * Start to ready of a real cloud image under TCG on a loaded 2-core host took
 * up to 264 s (cloud-init's Python dominates); 540 s leaves twice that, and
 * ends before a host's default 10-minute deadline for Start, so the error is
 * the driver's (with the boot phase and the console's last lines). A guest
 * that is ready sooner is never held back by it.
 */
export const DEFAULT_BOOT_TIMEOUT_MS = 540_000;

export const CONFIG_DEFAULTS: Readonly<Omit<QemuConfig, "machineName" | "storePath">> = Object.freeze({
  bundlePath: COMMON_DEFAULTS.bundlePath,
  imagePath: "",
  bundleName: COMMON_DEFAULTS.bundleName,
  firmware: "auto",
  sshUser: "driverplug",
  cpus: COMMON_DEFAULTS.cpus,
  memoryMiB: COMMON_DEFAULTS.memoryMiB,
  diskGiB: COMMON_DEFAULTS.diskGiB,
  accelerator: COMMON_DEFAULTS.accelerator,
  sshPort: 0,
  sharedDirs: [],
  network: "isolated",
  stopTimeoutMs: 60_000,
  bootTimeoutMs: DEFAULT_BOOT_TIMEOUT_MS,
  qemuBinary: "qemu-system-x86_64",
});

/** 9p mount tags: QEMU allows 31 bytes; a safe alphabet keeps them out of argv parsing trouble. */
const TAG = /^[A-Za-z0-9_-]{1,31}$/;

/** What QEMU's 9p sharing takes. */
function nineP(dir: SharedDir, field: string): void {
  // QEMU's -virtfs takes comma-separated options: a comma in a path would inject one.
  if (dir.source.includes(",")) throw invalidArgument(`config field "${field}.source" may not contain a comma`);
  if (!TAG.test(dir.tag))
    throw invalidArgument(
      `config field "${field}.tag" is ${JSON.stringify(dir.tag)}: use 1 to 31 letters, digits, '_' or '-'`,
    );
  if (dir.type !== "9p")
    throw invalidArgument(
      `config field "${field}.type" is ${JSON.stringify(dir.type)}; the qemu driver shares with 9p only`,
    );
  if (dir.username !== "" || dir.password !== "")
    throw invalidArgument(`config field "${field}": 9p shares take no username or password`);
}

const sharedDirs: FieldCheck = (value, field) => {
  const defaults = (i: number) => ({ tag: `dp${i}`, type: "9p", readOnly: false, username: "", password: "" });
  const dirs = sharedDirList(value, field, defaults, nineP);
  const tags = new Set<string>();
  for (const [i, d] of dirs.entries()) {
    if (tags.has(d.tag))
      throw invalidArgument(`config field "${field}[${i}].tag" repeats tag ${JSON.stringify(d.tag)}`);
    tags.add(d.tag);
  }
  return dirs;
};

const SCHEMA: ConfigSchema<QemuConfig> = {
  driver: "qemu",
  defaults: CONFIG_DEFAULTS,
  required: ["machineName", "storePath"],
  fields: {
    machineName,
    storePath: absolutePath(),
    bundlePath: bundlePathField,
    imagePath: absolutePath(true),
    bundleName: bundleNameField,
    firmware: oneOf(["auto", "bios", "uefi"] as const),
    sshUser: text(
      /^[a-z_][a-z0-9_-]{0,31}$/,
      "a user name: lower-case letters, digits, '_' or '-', starting with a letter",
    ),
    ...SIZE_FIELDS,
    accelerator: acceleratorField,
    sshPort: int(0, 65535),
    sharedDirs,
    network: oneOf(["isolated", "nat"] as const),
    stopTimeoutMs: int(0, 3_600_000),
    bootTimeoutMs: int(1_000, 3_600_000),
    qemuBinary: text(/^[^\0\n]+$/, "no NUL or newline characters"),
  },
};

export function validateConfig(value: unknown): QemuConfig {
  const config = checkFields(value, SCHEMA);
  if (config.bundlePath !== "" && config.imagePath !== "")
    throw invalidArgument(
      `config fields "bundlePath" and "imagePath" are both set; a machine is made from a bundle or from an image, not both`,
    );
  const tooLong = socketPathProblem(config.storePath);
  if (tooLong) throw invalidArgument(`config field "storePath": ${tooLong}`);
  return config;
}

/** The config as it travels: `decode` parses, validates and fills in defaults; `encode` gives GetConfig's bytes. */
export const configCodec = jsonConfig(validateConfig);
