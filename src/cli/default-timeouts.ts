// The machine commands' default --timeout, in seconds: its own module so the
// fast status path uses the same one without loading the command parser.
/** Create, Start, Stop, Restart, Kill, Remove, UpdateConfig: as long as the host's deadline for these RPCs. */
export const CHANGE_TIMEOUT_S = 600;
/** status, ip, url, ssh-info, ssh, config get: the plugin's start and a query or two. */
export const QUERY_TIMEOUT_S = 30;

/** ls: each machine's plugin start and queries, side by side. */
export const LS_TIMEOUT_S = 10;
