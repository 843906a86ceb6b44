// Where a plugin puts its socket, in docs/protocol.md's order (section 5): the private directory
// a host made for it, else a base directory from the environment, else the
// user's runtime directory, else one under the system temp directory.
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { MACHINE_PLUGIN_SOCKET_DIR, PLUGIN_UNIX_SOCKET_DIR } from "../protocol/env.js";
import { effectiveUid } from "./private-dir.js";

export interface SocketDirChoice {
  dir: string;
  /** Which setting chose it, for messages. */
  source: string;
  /** A host's private dir must already exist; a base dir is created if missing. */
  create: boolean;
}

/**
 * The one default base directory for plugin sockets, for plugins and hosts
 * alike: `$XDG_RUNTIME_DIR/driverplug` when set, else
 * `<tmpdir>/driverplug-<uid>`. In group mode the base must be traversable by
 * the group, so it is another dir (`...-g<gid>`) rather than a private one
 * made earlier.
 */
export function defaultSocketBaseDir(env: NodeJS.ProcessEnv = process.env, gid?: number): string {
  const suffix = gid === undefined ? "" : `-g${gid}`;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, `driverplug${suffix}`);
  return join(tmpdir(), `driverplug-${effectiveUid()}${suffix}`);
}

export function resolveSocketDir(env: NodeJS.ProcessEnv = process.env): SocketDirChoice {
  const pick = (name: string, value: string, create: boolean): SocketDirChoice => {
    if (!isAbsolute(value)) {
      throw new Error(
        `${name}=${JSON.stringify(value)} is not an absolute path; set it to an absolute directory or unset it`,
      );
    }
    return { dir: value, source: name, create };
  };
  if (env[PLUGIN_UNIX_SOCKET_DIR]) return pick(PLUGIN_UNIX_SOCKET_DIR, env[PLUGIN_UNIX_SOCKET_DIR], false);
  if (env[MACHINE_PLUGIN_SOCKET_DIR]) return pick(MACHINE_PLUGIN_SOCKET_DIR, env[MACHINE_PLUGIN_SOCKET_DIR], true);
  if (env.XDG_RUNTIME_DIR) return pick("XDG_RUNTIME_DIR", defaultSocketBaseDir(env), true);
  return { dir: defaultSocketBaseDir(env), source: "the system temp directory", create: true };
}
