// Typed create-flag values (FlagValue) built from and read into plain values,
// for both sides: a host turns command-line text into them, a driver reads
// them back (plugin/create-flags.ts), and neither spells out the oneof.
import { FlagType, type FlagValue } from "../../generated/driverplug/driver/v1/driver.js";

export const stringValue = (value: string): FlagValue => ({ kind: { $case: "stringValue", value } });
export const stringListValue = (values: readonly string[]): FlagValue => ({
  kind: { $case: "stringListValue", value: { values: [...values] } },
});
export const intValue = (value: number | bigint): FlagValue => ({ kind: { $case: "intValue", value: BigInt(value) } });
export const boolValue = (value: boolean): FlagValue => ({ kind: { $case: "boolValue", value } });

/** The oneof case each flag type carries. */
export const CASE_OF_TYPE: Readonly<Record<number, NonNullable<FlagValue["kind"]>["$case"]>> = {
  [FlagType.FLAG_TYPE_STRING]: "stringValue",
  [FlagType.FLAG_TYPE_STRING_LIST]: "stringListValue",
  [FlagType.FLAG_TYPE_INT]: "intValue",
  [FlagType.FLAG_TYPE_BOOL]: "boolValue",
};

/** "an int", "a string list": for messages. */
export function flagTypeName(type: FlagType): string {
  switch (type) {
    case FlagType.FLAG_TYPE_BOOL:
      return "a bool";
    case FlagType.FLAG_TYPE_INT:
      return "an int";
    case FlagType.FLAG_TYPE_STRING_LIST:
      return "a string list";
    default:
      return "a string";
  }
}
