// Names of the environment variables of the plugin protocol, and driverplug's
// default magic cookie. Both sides read them from here.

/** go-plugin's variables (see docs/protocol.md). */
export const PLUGIN_PROTOCOL_VERSIONS = "PLUGIN_PROTOCOL_VERSIONS";
export const PLUGIN_UNIX_SOCKET_DIR = "PLUGIN_UNIX_SOCKET_DIR";
export const PLUGIN_UNIX_SOCKET_GROUP = "PLUGIN_UNIX_SOCKET_GROUP";
export const PLUGIN_CLIENT_CERT = "PLUGIN_CLIENT_CERT";
export const PLUGIN_MULTIPLEX_GRPC = "PLUGIN_MULTIPLEX_GRPC";

/** A base directory for plugin sockets, as in crc-org/machine. */
export const MACHINE_PLUGIN_SOCKET_DIR = "MACHINE_PLUGIN_SOCKET_DIR";

/** Set to "1" by a host that holds the plugin's stdin pipe: EOF on it means the host died. */
export const DRIVERPLUG_STDIN_LIFELINE = "DRIVERPLUG_STDIN_LIFELINE";

/**
 * Set by a host that leaves the plugin running after it is done with it (a
 * warm plugin): the plugin exits by itself once this many milliseconds pass
 * with no connection open, and it does not follow the host's death.
 */
export const DRIVERPLUG_IDLE_EXIT_MS = "DRIVERPLUG_IDLE_EXIT_MS";

/**
 * The health service name a plugin reports SERVING for while it honours
 * DRIVERPLUG_IDLE_EXIT_MS: a host keeps a plugin warm only when it does.
 */
export const IDLE_EXIT_HEALTH_SERVICE = "driverplug.idle-exit";

/** How long a host waits for that health check before it does not reuse the plugin. */
export const IDLE_EXIT_CHECK_MS = 5_000;

/** Switches on protocol tracing on stderr (off by default, free when off). */
export const DRIVERPLUG_TRACE = "DRIVERPLUG_TRACE";

/**
 * Set by a host whose logger keeps only records of this level and above
 * (trace, debug, info, warn, error): the plugin's logger writes none below
 * it. Unset (go-plugin hosts, which re-log at their own level), a plugin
 * writes debug and above; DRIVERPLUG_TRACE turns trace on whatever this says.
 */
export const DRIVERPLUG_LOG_LEVEL = "DRIVERPLUG_LOG_LEVEL";

export interface MagicCookie {
  key: string;
  value: string;
}

/** driverplug's default cookie; a driver may choose another pair. */
export const DEFAULT_COOKIE: Readonly<MagicCookie> = Object.freeze({
  key: "DRIVERPLUG_PLUGIN",
  value: "machine-driver",
});
