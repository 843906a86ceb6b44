// The fake driver's typed create flags and how their values land in the
// config. A flag of the wrong type or an unknown flag is INVALID_ARGUMENT
// naming the flag; range checks are the config's (config.ts).
import { boolFlag, intFlag, stringFlag, stringListFlag } from "../../plugin/index.js";
import { FlagTable, flagEnvVar } from "../flag-table.js";
import { CONFIG_DEFAULTS, validateConfig, type FakeConfig } from "./config.js";

const env = (name: string) => flagEnvVar("FAKE_", name);

const FLAGS = new FlagTable<FakeConfig>(
  "fake",
  [
    {
      field: "cpus",
      flag: intFlag("cpus", { usage: "Number of virtual CPUs", default: CONFIG_DEFAULTS.cpus, env: env("cpus") }),
    },
    {
      field: "memoryMiB",
      flag: intFlag("memory", { usage: "Memory size in MiB", default: CONFIG_DEFAULTS.memoryMiB, env: env("memory") }),
    },
    {
      field: "diskGiB",
      flag: intFlag("disk", { usage: "Disk size in GiB", default: CONFIG_DEFAULTS.diskGiB, env: env("disk") }),
    },
    {
      field: "networks",
      flag: stringListFlag("network", {
        usage: "Networks to attach the machine to",
        default: CONFIG_DEFAULTS.networks,
        env: env("network"),
      }),
    },
    {
      field: "nestedVirtualization",
      flag: boolFlag("nested-virt", {
        usage: "Expose virtualization extensions to the machine",
        default: CONFIG_DEFAULTS.nestedVirtualization,
        env: env("nested-virt"),
      }),
    },
    {
      field: "bundleName",
      flag: stringFlag("bundle", {
        usage: "Bundle (image) to create the machine from",
        default: CONFIG_DEFAULTS.bundleName,
        env: env("bundle"),
      }),
    },
  ],
  validateConfig,
);

export const createFlags = () => FLAGS.createFlags();
export const applyFlags = (config: FakeConfig, values: Parameters<typeof FLAGS.apply>[1]) =>
  FLAGS.apply(config, values);
