// The host's checks on a plugin's handshake (its version and kind) and on the
// address it printed (or that a reattach record holds): nothing is trusted. It must be a unix socket
// directly inside the private dir the host made, absolute and normalized, a
// socket (not a symlink or file), owned by the host's uid, with no group or
// other permission bits (group bits only for the group of group mode).
import { basename, dirname, isAbsolute, normalize } from "node:path";
import type { Handshake } from "../protocol/handshake.js";
import { negotiateVersion, VersionMismatchError } from "../protocol/versions.js";
import { effectiveUid } from "../socket/private-dir.js";
import { checkSocketFile } from "../socket/socket-file.js";
import { assertSocketPathFits } from "../socket/socket-path.js";
import { LaunchError } from "./launch-error.js";

function untrusted(path: string, why: string): LaunchError {
  return new LaunchError("untrusted-address", `refusing the plugin's socket address ${JSON.stringify(path)}: ${why}`);
}

/** `autoMtls`: the host sent a client certificate, so the plugin must offer one. */
export function assertHandshakeKind(h: Handshake, autoMtls = false): void {
  if (h.network !== "unix")
    throw untrusted(
      h.address,
      `network is ${JSON.stringify(h.network)}; driverplug hosts only talk to plugins over unix sockets`,
    );
  if (h.protocol !== "grpc")
    throw untrusted(h.address, `protocol is ${JSON.stringify(h.protocol)}; driverplug plugins speak grpc`);
  if (autoMtls && h.serverCert === "")
    throw untrusted(
      h.address,
      "this host asked for AutoMTLS, but the plugin offers no certificate (does it support PLUGIN_CLIENT_CERT?)",
    );
  if (!autoMtls && h.serverCert !== "")
    throw untrusted(h.address, "the plugin offers a TLS certificate, but this host did not ask for AutoMTLS");
}

/** Returns the socket path once it passed every check; `gid`: group mode's group may have access. */
export async function checkTrustedSocket(address: string, privateDir: string, gid?: number): Promise<string> {
  if (!isAbsolute(address)) throw untrusted(address, "it is not an absolute path");
  if (normalize(address) !== address)
    throw untrusted(address, 'it is not a normalized path (it holds "..", "." or repeated slashes)');
  if (dirname(address) !== privateDir || basename(address) === "") {
    throw untrusted(
      address,
      `it is not directly inside the private directory ${privateDir} the host made for this plugin`,
    );
  }
  try {
    assertSocketPathFits(address);
    await checkSocketFile(address, gid === undefined ? { uid: effectiveUid() } : { uid: effectiveUid(), gid });
  } catch (err) {
    throw untrusted(address, (err as Error).message);
  }
  return address;
}

/** All of a handshake's checks: version, kind, then the socket; returns the socket path. */
export async function checkHandshake(
  h: Handshake,
  versions: readonly number[],
  privateDir: string,
  gid: number | undefined,
  autoMtls = false,
): Promise<string> {
  try {
    negotiateVersion(versions, [h.appVersion]);
  } catch (err) {
    if (!(err instanceof VersionMismatchError)) throw err;
    throw new LaunchError(
      "version-mismatch",
      `the plugin answered with app protocol version ${h.appVersion}: ${err.message}`,
      { cause: err },
    );
  }
  assertHandshakeKind(h, autoMtls);
  return checkTrustedSocket(h.address, privateDir, gid);
}
