// Turns `--flag name=value` texts into the typed values SetConfigFromFlags
// takes, using the driver's own flag descriptors; a name the driver does not
// declare, or a value that does not parse as its type, is the user's mistake
// and stops the run before any check.
import { FlagType, type CreateFlag, type FlagValue } from "../../generated/driverplug/driver/v1/driver.js";

export class FlagTextError extends Error {
  override name = "FlagTextError";
}

/** Splits "name=value"; the value may itself hold "=". */
export function parseFlagAssignment(text: string): [string, string] {
  const at = text.indexOf("=");
  if (at <= 0) throw new FlagTextError(`--flag ${JSON.stringify(text)} is not name=value (e.g. --flag cpus=4)`);
  return [text.slice(0, at), text.slice(at + 1)];
}

export function typedFlagValues(
  flags: readonly CreateFlag[],
  given: Record<string, string>,
): Record<string, FlagValue> {
  const out: Record<string, FlagValue> = {};
  for (const [name, text] of Object.entries(given)) {
    const flag = flags.find((f) => f.name === name);
    if (!flag) {
      throw new FlagTextError(
        `--flag ${name}=...: the driver has no create flag ${JSON.stringify(name)}; its flags are ${flags.map((f) => f.name).join(", ") || "none"}`,
      );
    }
    out[name] = typed(flag, text);
  }
  return out;
}

function typed(flag: CreateFlag, text: string): FlagValue {
  const bad = (what: string) => new FlagTextError(`--flag ${flag.name}=${JSON.stringify(text)}: expected ${what}`);
  switch (flag.type) {
    case FlagType.FLAG_TYPE_INT:
      if (!/^[+-]?[0-9]{1,19}$/.test(text.trim())) throw bad("an integer");
      return { kind: { $case: "intValue", value: BigInt(text.trim()) } };
    case FlagType.FLAG_TYPE_BOOL: {
      const t = text.trim().toLowerCase();
      if (["1", "true", "yes", "on"].includes(t)) return { kind: { $case: "boolValue", value: true } };
      if (["0", "false", "no", "off"].includes(t)) return { kind: { $case: "boolValue", value: false } };
      throw bad("true or false");
    }
    case FlagType.FLAG_TYPE_STRING_LIST:
      return {
        kind: {
          $case: "stringListValue",
          value: {
            values: text
              .split(",")
              .map((s) => s.trim())
              .filter((s) => s !== ""),
          },
        },
      };
    default:
      return { kind: { $case: "stringValue", value: text } };
  }
}
