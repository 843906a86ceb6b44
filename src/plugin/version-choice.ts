// Which app protocol version to speak, from the host's PLUGIN_PROTOCOL_VERSIONS.
// When the variable is absent (a host that predates it, or a person testing by
// hand) the plugin speaks its highest version, as go-plugin plugins do; the
// handshake line tells the host which one that is.
import { PLUGIN_PROTOCOL_VERSIONS } from "../protocol/env.js";
import { negotiateVersion, parseVersionList } from "../protocol/versions.js";

export function chooseVersion(ours: readonly number[], env: NodeJS.ProcessEnv): number {
  const offered = env[PLUGIN_PROTOCOL_VERSIONS];
  if (offered === undefined || offered.trim() === "") return Math.max(...ours);
  return negotiateVersion(ours, parseVersionList(offered));
}
