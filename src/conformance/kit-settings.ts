// Everything a kit run is configured with, resolved once: which executable,
// the configs merged into each check's machine, the flag values, repeat count
// and per-step timeout. Library callers and the CLI both end up here.
import type { FlagValue } from "../../generated/driverplug/driver/v1/driver.js";
import type { MagicCookie } from "../protocol/env.js";

export type JsonObject = Record<string, unknown>;

export interface KitSettings {
  /** The driver's name as its executable says (driverplug-driver-<name>); GetInfo must say the same. */
  name: string;
  executable: string;
  /** Driver-specific config; the kit adds machineName and storePath. */
  config: JsonObject;
  /**
   * Merged in for the check that acts during a long Create (a cancelled
   * Create): a config that makes Create last a few seconds. Without it that
   * check runs with the plain config and skips when Create finished before it
   * could act.
   */
  slowCreateConfig?: JsonObject;
  /** The same for the checks that act during a long Start (Kill during Start, queries, deadlines). */
  slowStartConfig?: JsonObject;
  /**
   * Merged in for the secrets check: a config holding a secret, written with
   * the placeholder SECRET_PLACEHOLDER where the kit puts a fresh random one.
   */
  secretConfig?: JsonObject;
  /** Create flag values as given on the command line (name -> text), applied after SetConfig. */
  flags: Record<string, string>;
  /** The same values typed by the driver's GetCreateFlags (filled in by the runner). */
  flagValues: Record<string, FlagValue>;
  /** How many times the lifecycle check runs the whole cycle. */
  repeat: number;
  /** Deadline of each call and each wait. */
  stepTimeoutMs: number;
  /** How long a plugin may take to print its handshake; stepTimeoutMs unless set. */
  startTimeoutMs?: number;
  cookie: MagicCookie;
  /** Extra environment for the plugin. */
  env: Record<string, string>;
  /**
   * Processes a plugin may leave running after its check (matched against
   * their command line): a daemon the driver starts to share between its
   * plugins, as libvirt's session daemon. Anything else left is a failure.
   */
  allowRunning?: RegExp;
  /** Names of the kit's own environment variables the plugin inherits besides launch()'s allowlist (the CLI's DRIVERPLUG_PASS_ENV). */
  inheritEnv: readonly string[];
  /** Where each check's store dir is made. */
  workDir: string;
  /** Where the plugins' private socket dirs are made; the host's default when unset. */
  socketBaseDir?: string;
}

/** Written in a secretConfig where the kit should put its random secret. */
export const SECRET_PLACEHOLDER = "${SECRET}";

export const DEFAULT_REPEAT = 2;
export const DEFAULT_STEP_TIMEOUT_MS = 120_000;

/** Which long operation a check acts during, and so which slow config it takes. */
export type SlowOperation = "Create" | "Start";
