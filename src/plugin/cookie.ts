// The magic cookie guard: a plugin run by hand (no cookie in its environment)
// explains what it is instead of waiting silently for a host.
import type { MagicCookie } from "../protocol/env.js";

/** The message for a missing cookie, or undefined when the cookie is right. */
export function cookieProblem(cookie: MagicCookie, env: NodeJS.ProcessEnv, driver: string): string | undefined {
  if (env[cookie.key] === cookie.value) return undefined;
  return [
    `This is a driverplug driver plugin (driver "${driver}"): it is not meant to be run directly.`,
    "Run it through a driverplug host, for example the `driverplug` command, which starts it with",
    `the right environment (${cookie.key}=...), talks to it over a private socket and stops it afterwards.`,
    "",
  ].join("\n");
}
