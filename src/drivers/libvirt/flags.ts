// The libvirt driver's typed create flags, each with a DRIVERPLUG_LIBVIRT_*
// env var, and how their values land in the config. Ranges are the config's.
import { intFlag, stringFlag } from "../../plugin/index.js";
import { FlagTable, flagEnvVar } from "../flag-table.js";
import { acceleratorFlag, bundleFlag, sizeFlags } from "../guest/common-settings.js";
import { CONFIG_DEFAULTS, validateConfig, type LibvirtConfig } from "./config.js";

const env = (name: string) => flagEnvVar("DRIVERPLUG_LIBVIRT_", name);

const FLAGS = new FlagTable<LibvirtConfig>(
  "libvirt",
  [
    bundleFlag(env),
    {
      field: "uri",
      flag: stringFlag("uri", {
        usage: "libvirt URI: qemu:///session, qemu:///system or qemu+ssh://[user@]host[:port]/session[?keyfile=/path]",
        default: CONFIG_DEFAULTS.uri,
        env: env("uri"),
      }),
    },
    ...sizeFlags<LibvirtConfig>(env),
    {
      field: "network",
      flag: stringFlag("network", {
        usage:
          'Network: "user" (user-mode, SSH forwarded on the hypervisor\'s 127.0.0.1) or a libvirt network name (IP from its DHCP leases)',
        default: CONFIG_DEFAULTS.network,
        env: env("network"),
      }),
    },
    acceleratorFlag(env),
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
