// The fake driver's typed create flags and how their values land in the
// config. A flag of the wrong type or an unknown flag is INVALID_ARGUMENT
// naming the flag; range checks are the config's (config.ts).
import { FlagType, type CreateFlag, type FlagValue } from "../../../generated/driverplug/driver/v1/driver.js";
import { invalidArgument } from "../../plugin/driver-error.js";
import { CONFIG_DEFAULTS, validateConfig, type FakeConfig } from "./config.js";

interface FlagSpec {
  flag: CreateFlag;
  field: keyof FakeConfig;
}

const spec = (
  name: string,
  field: keyof FakeConfig,
  type: FlagType,
  usage: string,
  defaultValue: FlagValue["kind"],
): FlagSpec => ({
  field,
  flag: {
    name,
    usage,
    type,
    defaultValue: { kind: defaultValue },
    envVar: `FAKE_${name.toUpperCase().replace(/-/g, "_")}`,
  },
});

const FLAGS: readonly FlagSpec[] = [
  spec("cpus", "cpus", FlagType.FLAG_TYPE_INT, "Number of virtual CPUs", {
    $case: "intValue",
    value: BigInt(CONFIG_DEFAULTS.cpus),
  }),
  spec("memory", "memoryMiB", FlagType.FLAG_TYPE_INT, "Memory size in MiB", {
    $case: "intValue",
    value: BigInt(CONFIG_DEFAULTS.memoryMiB),
  }),
  spec("disk", "diskGiB", FlagType.FLAG_TYPE_INT, "Disk size in GiB", {
    $case: "intValue",
    value: BigInt(CONFIG_DEFAULTS.diskGiB),
  }),
  spec("network", "networks", FlagType.FLAG_TYPE_STRING_LIST, "Networks to attach the machine to", {
    $case: "stringListValue",
    value: { values: [...CONFIG_DEFAULTS.networks] },
  }),
  spec(
    "nested-virt",
    "nestedVirtualization",
    FlagType.FLAG_TYPE_BOOL,
    "Expose virtualization extensions to the machine",
    {
      $case: "boolValue",
      value: CONFIG_DEFAULTS.nestedVirtualization,
    },
  ),
  spec("bundle", "bundleName", FlagType.FLAG_TYPE_STRING, "Bundle (image) to create the machine from", {
    $case: "stringValue",
    value: CONFIG_DEFAULTS.bundleName,
  }),
];

export function createFlags(): CreateFlag[] {
  return FLAGS.map((f) => f.flag);
}

const EXPECTED_CASE: Record<number, NonNullable<FlagValue["kind"]>["$case"]> = {
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

/** The config with the given flag values applied, validated as a whole. */
export function applyFlags(config: FakeConfig, values: Record<string, FlagValue>): FakeConfig {
  const next: Record<string, unknown> = { ...config };
  for (const [name, value] of Object.entries(values)) {
    const found = FLAGS.find((f) => f.flag.name === name);
    if (!found)
      throw invalidArgument(
        `unknown flag "${name}"; the fake driver's flags are ${FLAGS.map((f) => f.flag.name).join(", ")}`,
      );
    const kind = value.kind;
    const expected = EXPECTED_CASE[found.flag.type];
    if (!kind || kind.$case !== expected) {
      throw invalidArgument(
        `flag "${name}" takes ${TYPE_NAME[found.flag.type]}, got ${kind ? kind.$case.replace("Value", "") : "no value"}`,
      );
    }
    next[found.field] = plain(kind, name);
  }
  try {
    return validateConfig(next);
  } catch (err) {
    // Say which flag was wrong, not only which config field it set.
    const culprit = FLAGS.find(
      (f) => f.flag.name in values && err instanceof Error && err.message.includes(`"${f.field}`),
    );
    if (culprit && err instanceof Error) throw invalidArgument(`flag "${culprit.flag.name}": ${err.message}`);
    throw err;
  }
}

function plain(kind: NonNullable<FlagValue["kind"]>, name: string): unknown {
  switch (kind.$case) {
    case "intValue":
      if (kind.value > BigInt(Number.MAX_SAFE_INTEGER) || kind.value < -BigInt(Number.MAX_SAFE_INTEGER)) {
        throw invalidArgument(`flag "${name}" is out of range: ${kind.value}`);
      }
      return Number(kind.value);
    case "stringListValue":
      return [...kind.value.values];
    default:
      return kind.value;
  }
}
