// What a conformance check is: a category, a name, the capabilities it needs
// and an async body that either returns (PASS), calls fail() (FAIL, saying
// what was expected and what came back) or skip() (SKIP, saying why). The
// body gets a CheckContext with its own fresh store, machine name and plugins.
import type { Capability, GetInfoResponse } from "../../generated/driverplug/driver/v1/driver.js";
import type { CheckContext } from "./check-context.js";

export const CATEGORIES = [
  "protocol",
  "identity",
  "flags and config",
  "before Create",
  "Create",
  "lifecycle",
  "persistence",
  "WatchState",
  "GetMachineStates",
  "concurrency and deadlines",
  "hygiene",
] as const;

export type Category = (typeof CATEGORIES)[number];

export interface Check {
  category: Category;
  name: string;
  /** Capabilities the driver must advertise; without them the check is skipped, saying so. */
  needs?: readonly Capability[];
  /** Runs with no other check beside it: it judges how the plugin copes with a long operation. */
  alone?: boolean;
  /** Needs the GetInfo the kit reads once before the checks (protocol checks do not). */
  usesInfo?: boolean;
  run(ctx: CheckContext): Promise<void>;
}

export type CheckStatus = "PASS" | "FAIL" | "SKIP";

export interface CheckResult {
  category: Category;
  name: string;
  status: CheckStatus;
  ms: number;
  /** For FAIL: expected vs got; for SKIP: why; for PASS: an optional note. */
  message?: string;
}

/** Thrown by fail(): the check found a defect. */
export class CheckFailed extends Error {
  override name = "CheckFailed";
}

/** Thrown by skip(): the check does not apply to this driver. */
export class CheckSkipped extends Error {
  override name = "CheckSkipped";
}

export function fail(message: string): never {
  throw new CheckFailed(message);
}

export function skip(reason: string): never {
  throw new CheckSkipped(reason);
}

/** `category > name`, what --focus and --skip match against. */
export function checkId(check: Pick<Check, "category" | "name">): string {
  return `${check.category} > ${check.name}`;
}

/** What the kit learnt about the driver before the checks, or why it could not. */
export type DriverInfo = { ok: true; info: GetInfoResponse; appVersion: number } | { ok: false; error: string };
