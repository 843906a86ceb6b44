// The libvirt driver's typed create flags, each with a DRIVERPLUG_LIBVIRT_*
// env var, and how their values land in the config. Ranges are the config's.
import { resolve } from "node:path";
import { intFlag, stringFlag } from "../../plugin/index.js";
import { FlagTable, flagEnvVar } from "../flag-table.js";
import { CONFIG_DEFAULTS, validateConfig, type LibvirtConfig } from "./config.js";

const env = (name: string) => flagEnvVar("DRIVERPLUG_LIBVIRT_", name);

const FLAGS = new FlagTable<LibvirtConfig>(
  "libvirt",
  [
    {
      field: "bundlePath",
      flag: stringFlag("bundle", {
        usage: "Bundle directory to make the machine from (holds bundle.json; `make guest` prints one)",
        env: env("bundle"),
      }),
      apply: (config, value) => (config.bundlePath = resolve(value as string)),
    },
    {
      field: "uri",
      flag: stringFlag("uri", {
        usage: "libvirt URI: qemu:///session, qemu:///system or qemu+ssh://[user@]host[:port]/session[?keyfile=/path]",
        default: CONFIG_DEFAULTS.uri,
        env: env("uri"),
      }),
    },
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
      flag: intFlag("disk-size", {
        usage: "Disk size in GiB",
        default: CONFIG_DEFAULTS.diskGiB,
        env: env("disk-size"),
      }),
    },
    {
      field: "network",
      flag: stringFlag("network", {
        usage:
          'Network: "user" (user-mode, SSH forwarded on the hypervisor\'s 127.0.0.1) or a libvirt network name (IP from its DHCP leases)',
        default: CONFIG_DEFAULTS.network,
        env: env("network"),
      }),
    },
    {
      field: "accelerator",
      flag: stringFlag("accel", {
        usage: "Accelerator: auto (KVM when it can work here, else TCG), kvm or tcg",
        default: CONFIG_DEFAULTS.accelerator,
        env: env("accel"),
      }),
    },
    {
      field: "stopTimeoutMs",
      flag: intFlag("stop-timeout", {
        usage: "Seconds Stop waits for the guest to power off (ACPI) before it destroys the domain",
        default: CONFIG_DEFAULTS.stopTimeoutMs / 1000,
        env: env("stop-timeout"),
      }),
      apply: (config, value) => (config.stopTimeoutMs = (value as number) * 1000),
    },
  ],
  validateConfig,
);

export const createFlags = () => FLAGS.createFlags();
export const applyFlags = (config: LibvirtConfig, values: Parameters<typeof FLAGS.apply>[1]) =>
  FLAGS.apply(config, values);
