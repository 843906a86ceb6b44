// The settings every VM driver has (the bundle it is made from, CPUs, memory,
// disk size, accelerator): their config checks and their create flags, so
// they read, default and refuse alike in every driver.
import { resolve } from "node:path";
import { intFlag, stringFlag } from "../../plugin/index.js";
import { absolutePath, int, oneOf, text } from "../config-fields.js";
import type { FlagRow } from "../flag-table.js";
import type { AcceleratorChoice } from "./accelerator.js";

export interface CommonSettings {
  bundlePath: string;
  bundleName: string;
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
  accelerator: AcceleratorChoice;
}

export const COMMON_DEFAULTS: Readonly<CommonSettings> = Object.freeze({
  bundlePath: "",
  bundleName: "",
  cpus: 2,
  memoryMiB: 1024,
  diskGiB: 20,
  accelerator: "auto",
});

export const bundlePathField = absolutePath(true);
export const bundleNameField = text(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,128}$/, "a bundle name is name-version", true);
export const acceleratorField = oneOf(["auto", "kvm", "tcg"] as const);
export const SIZE_FIELDS = {
  cpus: int(1, 64),
  memoryMiB: int(64, 1024 * 1024),
  diskGiB: int(1, 64 * 1024),
} as const;

/** The --bundle flag; a relative path is taken from the host's working directory. */
export function bundleFlag<C extends CommonSettings>(env: (name: string) => string): FlagRow<C> {
  return {
    field: "bundlePath",
    flag: stringFlag("bundle", {
      usage: "Bundle directory to make the machine from (holds bundle.json; `make guest` prints one)",
      env: env("bundle"),
    }),
    apply: (config, value) => (config.bundlePath = resolve(value as string)),
  };
}

/** --cpus, --memory and --disk-size. */
export function sizeFlags<C extends CommonSettings>(env: (name: string) => string): Array<FlagRow<C>> {
  return [
    {
      field: "cpus",
      flag: intFlag("cpus", { usage: "Number of virtual CPUs", default: COMMON_DEFAULTS.cpus, env: env("cpus") }),
    },
    {
      field: "memoryMiB",
      flag: intFlag("memory", { usage: "Memory size in MiB", default: COMMON_DEFAULTS.memoryMiB, env: env("memory") }),
    },
    {
      field: "diskGiB",
      flag: intFlag("disk-size", {
        usage: "Disk size in GiB",
        default: COMMON_DEFAULTS.diskGiB,
        env: env("disk-size"),
      }),
    },
  ];
}

export function acceleratorFlag<C extends CommonSettings>(env: (name: string) => string): FlagRow<C> {
  return {
    field: "accelerator",
    flag: stringFlag("accel", {
      usage: "Accelerator: auto (KVM when it can work here, else TCG), kvm or tcg",
      default: COMMON_DEFAULTS.accelerator,
      env: env("accel"),
    }),
  };
}
