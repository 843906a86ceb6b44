// The qemu driver's config: its JSON schema, defaults and validation. Every
// refusal is an INVALID_ARGUMENT whose message names the field; a store path
// too long for the machine's socket paths is refused here, at SetConfig, not
// when QEMU later fails to bind.
import { isAbsolute } from "node:path";
import { type SharedDir, invalidArgument } from "../../plugin/index.js";
import type { AcceleratorChoice } from "../guest/accelerator.js";
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
  bundlePath: "",
  imagePath: "",
  bundleName: "",
  firmware: "auto",
  sshUser: "driverplug",
  cpus: 2,
  memoryMiB: 1024,
  diskGiB: 20,
  accelerator: "auto",
  sshPort: 0,
  sharedDirs: [],
  network: "isolated",
  stopTimeoutMs: 60_000,
  bootTimeoutMs: DEFAULT_BOOT_TIMEOUT_MS,
  qemuBinary: "qemu-system-x86_64",
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
  (pattern?: RegExp, hint?: string, allowEmpty = false): FieldCheck =>
  (value, field) => {
    if (typeof value !== "string" || (value === "" && !allowEmpty))
      throw invalidArgument(`config field "${field}" must be a non-empty string, got ${describe(value)}`);
    if (pattern && value !== "" && !pattern.test(value))
      throw invalidArgument(`config field "${field}" is ${JSON.stringify(value)}: ${hint}`);
    return value;
  };

const absolutePath =
  (allowEmpty = false): FieldCheck =>
  (value, field) => {
    const path = text(undefined, undefined, allowEmpty)(value, field) as string;
    if (path !== "" && !isAbsolute(path))
      throw invalidArgument(`config field "${field}" must be an absolute path, got ${JSON.stringify(path)}`);
    if (/[\0\n]/.test(path)) throw invalidArgument(`config field "${field}" holds a NUL or newline character`);
    return path;
  };

const oneOf =
  <T extends string>(values: readonly T[]): FieldCheck =>
  (value, field) => {
    if (typeof value !== "string" || !values.includes(value as T))
      throw invalidArgument(`config field "${field}" must be one of ${values.join(", ")}, got ${describe(value)}`);
    return value;
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

/** 9p mount tags: QEMU allows 31 bytes; a safe alphabet keeps them out of argv parsing trouble. */
const TAG = /^[A-Za-z0-9_-]{1,31}$/;

const sharedDirList: FieldCheck = (value, field) => {
  if (!Array.isArray(value))
    throw invalidArgument(`config field "${field}" must be a list of shared directories, got ${describe(value)}`);
  const dirs = value.map((item, i) => sharedDir(item, `${field}[${i}]`, i));
  const tags = new Set<string>();
  for (const [i, d] of dirs.entries()) {
    if (tags.has(d.tag))
      throw invalidArgument(`config field "${field}[${i}].tag" repeats tag ${JSON.stringify(d.tag)}`);
    tags.add(d.tag);
  }
  return dirs;
};

function sharedDir(value: unknown, field: string, index: number): SharedDir {
  if (!isObject(value)) throw invalidArgument(`config field "${field}" must be an object, got ${describe(value)}`);
  for (const [key, v] of Object.entries(value)) {
    const kind = Object.hasOwn(SHARED_DIR_FIELDS, key) ? SHARED_DIR_FIELDS[key as keyof SharedDir] : undefined;
    if (!kind)
      throw invalidArgument(
        `config field "${field}.${key}" is unknown; a shared directory has ${Object.keys(SHARED_DIR_FIELDS).join(", ")}`,
      );
    if (typeof v !== kind)
      throw invalidArgument(
        `config field "${field}.${key}" must be a ${kind}, got ${key === "password" ? "another type" : describe(v)}`,
      );
  }
  const dir = {
    tag: `dp${index}`,
    type: "9p",
    readOnly: false,
    username: "",
    password: "",
    ...value,
  } as SharedDir;
  absolutePath()(dir.source, `${field}.source`);
  absolutePath()(dir.target, `${field}.target`);
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
  return dir;
}

const FIELDS: Record<keyof QemuConfig, FieldCheck> = {
  machineName: text(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
    "use up to 63 letters, digits, '.', '_' or '-', starting with a letter or digit",
  ),
  storePath: absolutePath(),
  bundlePath: absolutePath(true),
  imagePath: absolutePath(true),
  bundleName: text(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,128}$/, "a bundle name is name-version", true),
  firmware: oneOf(["auto", "bios", "uefi"] as const),
  sshUser: text(
    /^[a-z_][a-z0-9_-]{0,31}$/,
    "a user name: lower-case letters, digits, '_' or '-', starting with a letter",
  ),
  cpus: int(1, 64),
  memoryMiB: int(64, 1024 * 1024),
  diskGiB: int(1, 64 * 1024),
  accelerator: oneOf(["auto", "kvm", "tcg"] as const),
  sshPort: int(0, 65535),
  sharedDirs: sharedDirList,
  network: oneOf(["isolated", "nat"] as const),
  stopTimeoutMs: int(0, 3_600_000),
  bootTimeoutMs: int(1_000, 3_600_000),
  qemuBinary: text(/^[^\0\n]+$/, "no NUL or newline characters"),
};

const REQUIRED: ReadonlyArray<keyof QemuConfig> = ["machineName", "storePath"];

export function parseConfig(bytes: Uint8Array): QemuConfig {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (err) {
    throw invalidArgument(`config is not valid JSON: ${(err as Error).message}`);
  }
  return validateConfig(value);
}

export function validateConfig(value: unknown): QemuConfig {
  if (!isObject(value)) throw invalidArgument(`config must be a JSON object, got ${describe(value)}`);
  for (const field of REQUIRED) {
    if (!(field in value)) throw invalidArgument(`config field "${field}" is required`);
  }
  const merged: Record<string, unknown> = { ...CONFIG_DEFAULTS, ...value };
  const out: Record<string, unknown> = {};
  for (const [field, v] of Object.entries(merged)) {
    const check = Object.hasOwn(FIELDS, field) ? FIELDS[field as keyof QemuConfig] : undefined;
    if (!check)
      throw invalidArgument(
        `config field "${field}" is unknown; the qemu driver accepts ${Object.keys(FIELDS).join(", ")}`,
      );
    out[field] = check(v, field);
  }
  const config = out as unknown as QemuConfig;
  if (config.bundlePath !== "" && config.imagePath !== "")
    throw invalidArgument(
      `config fields "bundlePath" and "imagePath" are both set; a machine is made from a bundle or from an image, not both`,
    );
  const tooLong = socketPathProblem(config.storePath);
  if (tooLong) throw invalidArgument(`config field "storePath": ${tooLong}`);
  return config;
}

export function serializeConfig(config: QemuConfig): Buffer {
  return Buffer.from(JSON.stringify(config));
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
