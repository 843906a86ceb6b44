// The bundled drivers' create flags as one table each: a typed flag (the
// plugin library's descriptor, which GetCreateFlags returns as it is and
// which reads the value back) beside the config field it sets. Applying
// values refuses an unknown flag by listing the driver's flags, reads each
// value by its type, validates the config as a whole, and names the flag,
// not only the field, when a value is refused.
import { invalidArgument, type CreateFlag, type FlagDescriptor, type FlagValue } from "../plugin/index.js";

export interface FlagRow<C> {
  flag: FlagDescriptor;
  /** The config field this flag sets (a refusal naming it is said to be the flag's). */
  field: keyof C & string;
  /** How the value lands in the config; by default it is the field's value as it is. */
  apply?: (config: Record<string, unknown>, value: unknown, flag: string) => void;
}

export class FlagTable<C> {
  constructor(
    /** "qemu": the driver's name, for the message listing its flags. */
    private readonly driver: string,
    private readonly rows: ReadonlyArray<FlagRow<C>>,
    private readonly validate: (config: unknown) => C,
  ) {}

  /** What GetCreateFlags answers. */
  createFlags(): CreateFlag[] {
    return this.rows.map((r) => r.flag);
  }

  /** The config with the flag values applied, validated as a whole. */
  apply(config: C, values: Readonly<Record<string, FlagValue>>): C {
    const next: Record<string, unknown> = { ...(config as Record<string, unknown>) };
    for (const [name, value] of Object.entries(values)) {
      const row = this.rows.find((r) => r.flag.name === name);
      if (!row)
        throw invalidArgument(
          `unknown flag "${name}"; the ${this.driver} driver's flags are ${this.rows.map((r) => r.flag.name).join(", ")}`,
        );
      const plain = row.flag.read(value);
      if (row.apply) row.apply(next, plain, name);
      else next[row.field] = plain;
    }
    try {
      return this.validate(next);
    } catch (err) {
      // `"sharedDirs` also matches "sharedDirs[0].source": a list's entries are the flag's too.
      const culprit = this.rows.find(
        (r) => r.flag.name in values && err instanceof Error && err.message.includes(`"${r.field}`),
      );
      if (culprit && err instanceof Error) throw invalidArgument(`flag "${culprit.flag.name}": ${err.message}`);
      throw err;
    }
  }
}

/** `DRIVERPLUG_QEMU_DISK_SIZE` from ("DRIVERPLUG_QEMU_", "disk-size"). */
export function flagEnvVar(prefix: string, name: string): string {
  return `${prefix}${name.toUpperCase().replace(/-/g, "_")}`;
}
