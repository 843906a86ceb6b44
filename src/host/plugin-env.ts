// The names of host variables a launched plugin inherits. Its own module, so
// the CLI's warm-plugin identity (and its fast status path) can digest the
// same environment without loading launch() and grpc-js.
import { DRIVERPLUG_TRACE } from "../protocol/env.js";

/**
 * What a plugin inherits from the host's environment: what any program needs
 * to run (PATH, HOME, locale, temp dir, time zone, XDG dirs) and driverplug's
 * trace switch. Not cloud keys, tokens, SSH_AUTH_SOCK or NODE_OPTIONS: a
 * plugin is given what it needs, not all the host holds.
 */
export const PLUGIN_ENV_ALLOWLIST: readonly RegExp[] = [
  /^PATH$/,
  /^HOME$/,
  /^LANG$/,
  /^LANGUAGE$/,
  /^LC_[A-Z_]+$/,
  /^TMPDIR$/,
  /^TZ$/,
  /^XDG_[A-Z_]+$/,
  new RegExp(`^${DRIVERPLUG_TRACE}$`),
];
