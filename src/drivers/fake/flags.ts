// The fake driver's typed create flags and how their values land in the
// config. A flag of the wrong type or an unknown flag is INVALID_ARGUMENT
// naming the flag (readFlags); range checks are the config's (config.ts).
import {
  boolFlag,
  intFlag,
  invalidArgument,
  readFlags,
  stringFlag,
  stringListFlag,
  type FlagValue,
} from "../../plugin/index.js";
import { CONFIG_DEFAULTS, validateConfig, type FakeConfig } from "./config.js";

const env = (name: string) => `FAKE_${name.toUpperCase().replace(/-/g, "_")}`;

export const FLAGS = [
  intFlag("cpus", { usage: "Number of virtual CPUs", default: CONFIG_DEFAULTS.cpus, env: env("cpus") }),
  intFlag("memory", { usage: "Memory size in MiB", default: CONFIG_DEFAULTS.memoryMiB, env: env("memory") }),
  intFlag("disk", { usage: "Disk size in GiB", default: CONFIG_DEFAULTS.diskGiB, env: env("disk") }),
  stringListFlag("network", {
    usage: "Networks to attach the machine to",
    default: CONFIG_DEFAULTS.networks,
    env: env("network"),
  }),
  boolFlag("nested-virt", {
    usage: "Expose virtualization extensions to the machine",
    default: CONFIG_DEFAULTS.nestedVirtualization,
    env: env("nested-virt"),
  }),
  stringFlag("bundle", {
    usage: "Bundle (image) to create the machine from",
    default: CONFIG_DEFAULTS.bundleName,
    env: env("bundle"),
  }),
] as const;

/** The config field each flag sets. */
const FIELD_OF: Record<(typeof FLAGS)[number]["name"], keyof FakeConfig> = {
  cpus: "cpus",
  memory: "memoryMiB",
  disk: "diskGiB",
  network: "networks",
  "nested-virt": "nestedVirtualization",
  bundle: "bundleName",
};

/** The config with the given flag values applied, validated as a whole. */
export function applyFlags(config: FakeConfig, values: Record<string, FlagValue>): FakeConfig {
  const given = readFlags(FLAGS, values);
  const next: Record<string, unknown> = { ...config };
  for (const [name, value] of Object.entries(given)) next[FIELD_OF[name as keyof typeof FIELD_OF]] = value;
  try {
    return validateConfig(next);
  } catch (err) {
    // Say which flag was wrong, not only which config field it set.
    const culprit = Object.keys(given).find(
      (name) => err instanceof Error && err.message.includes(`"${FIELD_OF[name as keyof typeof FIELD_OF]}`),
    );
    if (culprit && err instanceof Error) throw invalidArgument(`flag "${culprit}": ${err.message}`);
    throw err;
  }
}
