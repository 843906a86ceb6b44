// The qemu driver's typed create flags, each with a DRIVERPLUG_QEMU_* env var,
// and how their values land in the config. Ranges are the config's.
import { resolve } from "node:path";
import { intFlag, invalidArgument, stringFlag, stringListFlag, type SharedDir } from "../../plugin/index.js";
import { FlagTable, flagEnvVar } from "../flag-table.js";
import { acceleratorFlag, bundleFlag, sizeFlags } from "../guest/common-settings.js";
import { CONFIG_DEFAULTS, validateConfig, type QemuConfig } from "./config.js";

const env = (name: string) => flagEnvVar("DRIVERPLUG_QEMU_", name);
const seconds = (field: "bootTimeoutMs" | "stopTimeoutMs") => (config: Record<string, unknown>, value: unknown) =>
  (config[field] = (value as number) * 1000);

const FLAGS = new FlagTable<QemuConfig>(
  "qemu",
  [
    bundleFlag(env),
    {
      field: "imagePath",
      flag: stringFlag("image", {
        usage:
          "Disk image (qcow2 or raw, e.g. a distribution's cloud image) to make the machine from instead of a bundle; booted by firmware, configured by a cloud-init seed, never written",
        env: env("image"),
      }),
      apply: (config, value) => (config.imagePath = resolve(value as string)),
    },
    {
      field: "firmware",
      flag: stringFlag("firmware", {
        usage:
          "Firmware an --image boots with: bios (SeaBIOS), uefi (OVMF, Debian package ovmf) or auto (bios when the image has MBR boot code, else uefi)",
        default: CONFIG_DEFAULTS.firmware,
        env: env("firmware"),
      }),
    },
    {
      field: "sshUser",
      flag: stringFlag("ssh-user", {
        usage: "User the seed of an --image creates, with the machine's key and sudo (a bundle names its own)",
        default: CONFIG_DEFAULTS.sshUser,
        env: env("ssh-user"),
      }),
    },
    ...sizeFlags<QemuConfig>(env),
    acceleratorFlag(env),
    {
      field: "sshPort",
      flag: intFlag("ssh-port", {
        usage: "Host port on 127.0.0.1 forwarded to the guest's SSH (0: pick a free one, then keep it)",
        default: CONFIG_DEFAULTS.sshPort,
        env: env("ssh-port"),
      }),
    },
    {
      field: "sharedDirs",
      flag: stringListFlag("shared-dir", {
        usage: "Host directory shared into the guest over 9p, as SOURCE[:TARGET][:ro] (TARGET defaults to SOURCE)",
        env: env("shared-dir"),
      }),
      apply: (config, value, name) => (config.sharedDirs = parseShares(value as string[], name)),
    },
    {
      field: "network",
      flag: stringFlag("network", {
        usage:
          "What the guest reaches: isolated (nothing outside itself; only its SSH forward reaches in) or nat (the internet, and every service on the host's 127.0.0.1, seen as 10.0.2.2)",
        default: CONFIG_DEFAULTS.network,
        env: env("network"),
      }),
    },
    {
      field: "bootTimeoutMs",
      flag: intFlag("boot-timeout", {
        usage: "Seconds Start waits for the guest to be ready (a cloud image under TCG on a busy host takes minutes)",
        default: CONFIG_DEFAULTS.bootTimeoutMs / 1000,
        env: env("boot-timeout"),
      }),
      apply: seconds("bootTimeoutMs"),
    },
    {
      field: "stopTimeoutMs",
      flag: intFlag("stop-timeout", {
        usage: "Seconds Stop waits for the guest to power off before it quits QEMU",
        default: CONFIG_DEFAULTS.stopTimeoutMs / 1000,
        env: env("stop-timeout"),
      }),
      apply: seconds("stopTimeoutMs"),
    },
  ],
  validateConfig,
);

export const createFlags = () => FLAGS.createFlags();
export const applyFlags = (config: QemuConfig, values: Parameters<typeof FLAGS.apply>[1]) =>
  FLAGS.apply(config, values);

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
