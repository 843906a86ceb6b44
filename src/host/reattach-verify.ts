// reattach()'s checks of a record, without connecting: its own module, so
// the CLI's fast status path can run the very same checks without loading
// grpc-js.
import { negotiateVersion, PROTOCOL_VERSIONS } from "../protocol/versions.js";
import { checkPrivateDir } from "../socket/private-dir.js";
import { assertPluginName } from "./find-plugin.js";
import { LaunchError } from "./launch-error.js";
import { processAlive } from "./plugin-process.js";
import { holdsListeningSocket, processStartTime } from "./socket-holder.js";
import { parseReattachRecord, type ReattachRecord } from "./reattach-record.js";
import { checkTrustedSocket } from "./trusted-address.js";

function bad(why: string, cause?: unknown): LaunchError {
  return new LaunchError("bad-record", `cannot reattach: ${why}`, { cause });
}

/** A record that passed every check of reattach(), without connecting to it. */
export interface VerifiedRecord {
  record: ReattachRecord;
  socketPath: string;
  /** The pid's start time when it was tied to the socket; undefined where /proc cannot tell. */
  startTime: string | undefined;
}

/**
 * reattach()'s checks alone, with no connection made (a connection would
 * count as use of a warm plugin): the record's shape, version, private
 * directory, socket, and that its pid is alive and holds that socket.
 */
export async function verifyReattachRecord(
  record: unknown,
  versions: readonly number[] = PROTOCOL_VERSIONS,
): Promise<VerifiedRecord> {
  const r = parseReattachRecord(record);
  assertPluginName(r.driver);
  if (r.autoMtls) {
    throw bad(
      `plugin ${r.driver} (pid ${r.pid}) serves AutoMTLS, whose client key lives only in the host that launched it; launch without autoMtls to reattach later`,
    );
  }
  try {
    negotiateVersion(versions, [r.appVersion]);
  } catch (err) {
    throw new LaunchError("version-mismatch", `cannot reattach: ${(err as Error).message}`, { cause: err });
  }
  if (r.pid === process.pid || r.pid === 1) throw bad(`pid ${r.pid} cannot be a plugin's`);
  try {
    const checked = await checkPrivateDir(r.privateDir, r.gid === undefined ? {} : { gid: r.gid });
    if (checked.path !== r.privateDir)
      throw new Error(`${r.privateDir} resolves to ${checked.path}; records hold real paths`);
  } catch (err) {
    throw bad(`the record's private directory fails the checks: ${(err as Error).message}`, err);
  }
  const socketPath = await checkTrustedSocket(r.address, r.privateDir, r.gid);
  if (!processAlive(r.pid)) throw bad(`plugin ${r.driver} (pid ${r.pid}) is not running any more`);
  // A pid is signalled by close(): it must be the process serving this socket, not any live pid.
  const holds = holdsListeningSocket(r.pid, socketPath);
  if (holds === false) {
    throw bad(
      `pid ${r.pid} does not hold the listening socket ${socketPath}: the record is stale (the plugin died and its pid was reused) or was tampered with`,
    );
  }
  return { record: r, socketPath, startTime: holds === true ? processStartTime(r.pid) : undefined };
}
