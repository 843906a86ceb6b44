// The libvirt driver's typed create flags, each with a DRIVERPLUG_LIBVIRT_*
// env var, and how their values land in the config. An unknown flag or a
// value of the wrong type is INVALID_ARGUMENT naming the flag.
import { resolve } from "node:path";
import { FlagType, type CreateFlag, type FlagValue, invalidArgument } from "../../plugin/index.js";
import { CONFIG_DEFAULTS, validateConfig, type LibvirtConfig } from "./config.js";

type Kind = NonNullable<FlagValue["kind"]>;

interface FlagSpec {
  flag: CreateFlag;
  field: keyof LibvirtConfig;
  apply(config: Record<string, unknown>, value: unknown): void;
}

const envVar = (name: string) => `DRIVERPLUG_LIBVIRT_${name.toUpperCase().replace(/-/g, "_")}`;
const intDefault = (v: number): FlagValue => ({ kind: { $case: "intValue", value: BigInt(v) } });
const stringDefault = (v: string): FlagValue => ({ kind: { $case: "stringValue", value: v } });

function spec(
  name: string,
  field: keyof LibvirtConfig,
  type: FlagType,
  usage: string,
  defaultValue?: FlagValue,
  apply?: FlagSpec["apply"],
): FlagSpec {
  return {
    field,
    flag: { name, usage, type, defaultValue, envVar: envVar(name) },
    apply: apply ?? ((config, value) => (config[field] = value)),
  };
}

const FLAGS: readonly FlagSpec[] = [
  spec(
    "bundle",
    "bundlePath",
    FlagType.FLAG_TYPE_STRING,
    "Bundle directory to make the machine from (holds bundle.json; `make guest` prints one)",
    undefined,
    (config, value) => (config.bundlePath = resolve(String(value))),
  ),
  spec(
    "uri",
    "uri",
    FlagType.FLAG_TYPE_STRING,
    "libvirt URI: qemu:///session, qemu:///system or qemu+ssh://[user@]host[:port]/session[?keyfile=/path]",
    stringDefault(CONFIG_DEFAULTS.uri),
  ),
  spec("cpus", "cpus", FlagType.FLAG_TYPE_INT, "Number of virtual CPUs", intDefault(CONFIG_DEFAULTS.cpus)),
  spec("memory", "memoryMiB", FlagType.FLAG_TYPE_INT, "Memory size in MiB", intDefault(CONFIG_DEFAULTS.memoryMiB)),
  spec("disk-size", "diskGiB", FlagType.FLAG_TYPE_INT, "Disk size in GiB", intDefault(CONFIG_DEFAULTS.diskGiB)),
  spec(
    "network",
    "network",
    FlagType.FLAG_TYPE_STRING,
    'Network: "user" (user-mode, SSH forwarded on the hypervisor\'s 127.0.0.1) or a libvirt network name (IP from its DHCP leases)',
    stringDefault(CONFIG_DEFAULTS.network),
  ),
  spec(
    "accel",
    "accelerator",
    FlagType.FLAG_TYPE_STRING,
    "Accelerator: auto (KVM when it can work here, else TCG), kvm or tcg",
    stringDefault(CONFIG_DEFAULTS.accelerator),
  ),
  spec(
    "stop-timeout",
    "stopTimeoutMs",
    FlagType.FLAG_TYPE_INT,
    "Seconds Stop waits for the guest to power off (ACPI) before it destroys the domain",
    intDefault(CONFIG_DEFAULTS.stopTimeoutMs / 1000),
    (config, value) => (config.stopTimeoutMs = (value as number) * 1000),
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

/** The config with the flag values applied, validated as a whole. */
export function applyFlags(config: LibvirtConfig, values: Record<string, FlagValue>): LibvirtConfig {
  const next: Record<string, unknown> = { ...config };
  for (const [name, value] of Object.entries(values)) {
    const found = FLAGS.find((f) => f.flag.name === name);
    if (!found)
      throw invalidArgument(
        `unknown flag "${name}"; the libvirt driver's flags are ${FLAGS.map((f) => f.flag.name).join(", ")}`,
      );
    const kind = value.kind;
    const expected = EXPECTED_CASE[found.flag.type];
    if (!kind || kind.$case !== expected)
      throw invalidArgument(
        `flag "${name}" takes ${expected!.replace("Value", "")}, got ${kind ? kind.$case.replace("Value", "") : "no value"}`,
      );
    let plain: unknown = kind.value;
    if (kind.$case === "intValue") {
      if (kind.value > BigInt(Number.MAX_SAFE_INTEGER) || kind.value < -BigInt(Number.MAX_SAFE_INTEGER))
        throw invalidArgument(`flag "${name}" is out of range: ${kind.value}`);
      plain = Number(kind.value);
    }
    found.apply(next, plain);
  }
  try {
    return validateConfig(next);
  } catch (err) {
    const culprit = FLAGS.find(
      (f) => f.flag.name in values && err instanceof Error && err.message.includes(`"${f.field}"`),
    );
    if (culprit && err instanceof Error) throw invalidArgument(`flag "${culprit.flag.name}": ${err.message}`);
    throw err;
  }
}
