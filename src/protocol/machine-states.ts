// The bounds of GetMachineStates (the states of many machines in one call),
// which both sides read: the plugin refuses past them, the host splits its
// list to stay under them. driver.proto's comments state the same numbers for
// plugins and hosts in other languages.

/** Most entries one call may carry: the same number as a plugin's default cap on machine instances. */
export const MAX_MACHINE_STATES_PER_CALL = 1000;

/** Largest config_json of one entry, as the CLI's own limit on a stored driver config. */
export const MAX_MACHINE_STATE_CONFIG_BYTES = 1024 * 1024;

/**
 * What a host puts in one request at most, summed over its entries' configs:
 * well under the plugin's 64 MiB message limit, so one call never nears it.
 */
export const MAX_MACHINE_STATES_REQUEST_BYTES = 16 * 1024 * 1024;
