// Where the CLI looks for plugins and which of the user's variables they may
// inherit, from the CLI's environment: shared by the launcher and the fast
// status path (which must digest the same environment a launch would pass).
import { delimiter } from "node:path";

export const PLUGIN_DIRS_ENV = "DRIVERPLUG_PLUGIN_DIRS";
/** Names of further variables of the user's environment that plugins may inherit (comma-separated). */
export const PASS_ENV_ENV = "DRIVERPLUG_PASS_ENV";

/** The names in DRIVERPLUG_PASS_ENV: host variables a plugin may inherit. */
export function passEnvFrom(env: NodeJS.ProcessEnv): string[] {
  return (env[PASS_ENV_ENV] ?? "")
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n !== "");
}

export function pluginDirsFrom(env: NodeJS.ProcessEnv): string[] {
  return (env[PLUGIN_DIRS_ENV] ?? "").split(delimiter).filter((d) => d !== "");
}
