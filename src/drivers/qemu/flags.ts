// The qemu driver's typed create flags, each with a DRIVERPLUG_QEMU_* env var,
// and how their values land in the config. An unknown flag or a value of the
// wrong type is INVALID_ARGUMENT naming the flag; ranges are the config's.
import { resolve } from "node:path";
import { FlagType, type CreateFlag, type FlagValue, type SharedDir, invalidArgument } from "../../plugin/index.js";
import { CONFIG_DEFAULTS, validateConfig, type QemuConfig } from "./config.js";

type Kind = NonNullable<FlagValue["kind"]>;

interface FlagSpec {
  flag: CreateFlag;
  apply(config: Record<string, unknown>, value: Kind, name: string): void;
  /** The config field a validation error of this flag names. */
  field: keyof QemuConfig;
}

const envVar = (name: string) => `DRIVERPLUG_QEMU_${name.toUpperCase().replace(/-/g, "_")}`;

const intValue = (v: number): FlagValue["kind"] => ({ $case: "intValue", value: BigInt(v) });

function spec(
  name: string,
  field: keyof QemuConfig,
  type: FlagType,
  usage: string,
  defaultValue: FlagValue["kind"] | undefined,
  apply?: FlagSpec["apply"],
): FlagSpec {
  return {
    field,
    flag: { name, usage, type, defaultValue: defaultValue ? { kind: defaultValue } : undefined, envVar: envVar(name) },
    apply: apply ?? ((config, value, flag) => (config[field] = plain(value, flag))),
  };
}

const FLAGS: readonly FlagSpec[] = [
  spec(
    "bundle",
    "bundlePath",
    FlagType.FLAG_TYPE_STRING,
    "Bundle directory to make the machine from (holds bundle.json; `make guest` prints one)",
    undefined,
    (config, value) => (config.bundlePath = resolve(String(value.value))),
  ),
  spec(
    "image",
    "imagePath",
    FlagType.FLAG_TYPE_STRING,
    "Disk image (qcow2 or raw, e.g. a distribution's cloud image) to make the machine from instead of a bundle; booted by firmware, configured by a cloud-init seed, never written",
    undefined,
    (config, value) => (config.imagePath = resolve(String(value.value))),
  ),
  spec(
    "firmware",
    "firmware",
    FlagType.FLAG_TYPE_STRING,
    "Firmware an --image boots with: bios (SeaBIOS), uefi (OVMF, Debian package ovmf) or auto (bios when the image has MBR boot code, else uefi)",
    { $case: "stringValue", value: CONFIG_DEFAULTS.firmware },
  ),
  spec(
    "ssh-user",
    "sshUser",
    FlagType.FLAG_TYPE_STRING,
    "User the seed of an --image creates, with the machine's key and sudo (a bundle names its own)",
    { $case: "stringValue", value: CONFIG_DEFAULTS.sshUser },
  ),
  spec("cpus", "cpus", FlagType.FLAG_TYPE_INT, "Number of virtual CPUs", intValue(CONFIG_DEFAULTS.cpus)),
  spec("memory", "memoryMiB", FlagType.FLAG_TYPE_INT, "Memory size in MiB", intValue(CONFIG_DEFAULTS.memoryMiB)),
  spec("disk-size", "diskGiB", FlagType.FLAG_TYPE_INT, "Disk size in GiB", intValue(CONFIG_DEFAULTS.diskGiB)),
  spec(
    "accel",
    "accelerator",
    FlagType.FLAG_TYPE_STRING,
    "Accelerator: auto (KVM when it can work here, else TCG), kvm or tcg",
    { $case: "stringValue", value: CONFIG_DEFAULTS.accelerator },
  ),
  spec(
    "ssh-port",
    "sshPort",
    FlagType.FLAG_TYPE_INT,
    "Host port on 127.0.0.1 forwarded to the guest's SSH (0: pick a free one, then keep it)",
    intValue(CONFIG_DEFAULTS.sshPort),
  ),
  spec(
    "shared-dir",
    "sharedDirs",
    FlagType.FLAG_TYPE_STRING_LIST,
    "Host directory shared into the guest over 9p, as SOURCE[:TARGET][:ro] (TARGET defaults to SOURCE)",
    undefined,
    (config, value, name) => (config.sharedDirs = parseShares(plain(value, name) as string[], name)),
  ),
  spec(
    "network",
    "network",
    FlagType.FLAG_TYPE_STRING,
    "What the guest reaches: isolated (nothing outside itself; only its SSH forward reaches in) or nat (the internet, and every service on the host's 127.0.0.1, seen as 10.0.2.2)",
    { $case: "stringValue", value: CONFIG_DEFAULTS.network },
  ),
  spec(
    "boot-timeout",
    "bootTimeoutMs",
    FlagType.FLAG_TYPE_INT,
    "Seconds Start waits for the guest to be ready (a cloud image under TCG on a busy host takes minutes)",
    intValue(CONFIG_DEFAULTS.bootTimeoutMs / 1000),
    (config, value, name) => (config.bootTimeoutMs = (plain(value, name) as number) * 1000),
  ),
  spec(
    "stop-timeout",
    "stopTimeoutMs",
    FlagType.FLAG_TYPE_INT,
    "Seconds Stop waits for the guest to power off before it quits QEMU",
    intValue(CONFIG_DEFAULTS.stopTimeoutMs / 1000),
    (config, value, name) => (config.stopTimeoutMs = (plain(value, name) as number) * 1000),
  ),
];

export function createFlags(): CreateFlag[] {
  return FLAGS.map((f) => f.flag);
}

const EXPECTED_CASE: Record<number, Kind["$case"]> = {
  [FlagType.FLAG_TYPE_INT]: "intValue",
  [FlagType.FLAG_TYPE_BOOL]: "boolValue",
  [FlagType.FLAG_TYPE_STRING]: "stringValue",
  [FlagType.FLAG_TYPE_STRING_LIST]: "stringListValue",
};

const TYPE_NAME: Record<number, string> = {
  [FlagType.FLAG_TYPE_INT]: "an int",
  [FlagType.FLAG_TYPE_BOOL]: "a bool",
  [FlagType.FLAG_TYPE_STRING]: "a string",
  [FlagType.FLAG_TYPE_STRING_LIST]: "a string list",
};

/** The config with the flag values applied, validated as a whole. */
export function applyFlags(config: QemuConfig, values: Record<string, FlagValue>): QemuConfig {
  const next: Record<string, unknown> = { ...config };
  for (const [name, value] of Object.entries(values)) {
    const found = FLAGS.find((f) => f.flag.name === name);
    if (!found)
      throw invalidArgument(
        `unknown flag "${name}"; the qemu driver's flags are ${FLAGS.map((f) => f.flag.name).join(", ")}`,
      );
    const kind = value.kind;
    const expected = EXPECTED_CASE[found.flag.type];
    if (!kind || kind.$case !== expected)
      throw invalidArgument(
        `flag "${name}" takes ${TYPE_NAME[found.flag.type]}, got ${kind ? kind.$case.replace("Value", "") : "no value"}`,
      );
    found.apply(next, kind, name);
  }
  try {
    return validateConfig(next);
  } catch (err) {
    const culprit = FLAGS.find(
      (f) => f.flag.name in values && err instanceof Error && err.message.includes(`"${f.field}`),
    );
    if (culprit && err instanceof Error) throw invalidArgument(`flag "${culprit.flag.name}": ${err.message}`);
    throw err;
  }
}

/** "SOURCE[:TARGET][:ro]" into shared directories, tagged dp0, dp1... */
export function parseShares(specs: readonly string[], flag = "shared-dir"): SharedDir[] {
  return specs.map((text, i) => {
    const parts = text.split(":");
    let readOnly = false;
    if (parts.length > 1 && (parts.at(-1) === "ro" || parts.at(-1) === "rw")) readOnly = parts.pop() === "ro";
    if (parts.length > 2 || parts[0] === "")
      throw invalidArgument(`flag "${flag}" value ${JSON.stringify(text)} is not SOURCE[:TARGET][:ro]`);
    const source = resolve(parts[0]!);
    return { source, target: parts[1] ?? source, tag: `dp${i}`, type: "9p", readOnly, username: "", password: "" };
  });
}

function plain(kind: Kind, name: string): unknown {
  switch (kind.$case) {
    case "intValue":
      if (kind.value > BigInt(Number.MAX_SAFE_INTEGER) || kind.value < -BigInt(Number.MAX_SAFE_INTEGER))
        throw invalidArgument(`flag "${name}" is out of range: ${kind.value}`);
      return Number(kind.value);
    case "stringListValue":
      return [...kind.value.values];
    default:
      return kind.value;
  }
}
