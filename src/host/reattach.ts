// reattach(): connects to a plugin another host process launched, from the
// record that host saved. The record is checked like a fresh handshake (the
// private dir's owner and mode, the socket's place, type, owner and mode) and
// its pid must be alive and hold that socket. close() then uses Shutdown,
// signals only that same process, and removes only what driverplug made.
import { Client, credentials } from "@grpc/grpc-js";
import type { DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { hostDriverService } from "./driver-service.js";
import type { ServiceDefinitionShape } from "../protocol/service-types.js";
import { negotiateVersion, PROTOCOL_VERSIONS } from "../protocol/versions.js";
import { checkPrivateDir } from "../socket/private-dir.js";
import { pinSocket } from "./pinned-socket.js";
import { driverCallDefaults, type CallDefaults } from "./call-options.js";
import type { ClientMiddleware } from "./client-middleware.js";
import { assertPluginName } from "./find-plugin.js";
import { LaunchError } from "./launch-error.js";
import { PluginHandle, type CloseOptions } from "./plugin-handle.js";
import { processAlive, ReattachedPluginProcess } from "./plugin-process.js";
import { removeReattachedDir } from "./private-socket-dir.js";
import { holdsListeningSocket, processStartTime } from "./socket-holder.js";
import { parseReattachRecord, type ReattachRecord } from "./reattach-record.js";
import { checkTrustedSocket } from "./trusted-address.js";
import { transportChannelOptions, type TransportOptions } from "./channel-options.js";

export interface ReattachOptions<S extends ServiceDefinitionShape = typeof DriverServiceService>
  extends CloseOptions, TransportOptions {
  versions?: readonly number[];
  service?: S;
  callDefaults?: CallDefaults;
  /** Around every call of the handle's client, the first listed outermost, as launch()'s. */
  middleware?: readonly ClientMiddleware[];
}

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

/** `record`: a handle's record, or its JSON text. */
export function reattach<S extends ServiceDefinitionShape>(
  record: unknown,
  options: ReattachOptions<S> & { service: S },
): Promise<PluginHandle<S>>;
export function reattach(record: unknown, options?: ReattachOptions): Promise<PluginHandle>;
export async function reattach<S extends ServiceDefinitionShape>(
  record: unknown,
  options: ReattachOptions<S> = {},
): Promise<PluginHandle<S>> {
  const { record: r, socketPath, startTime } = await verifyReattachRecord(record, options.versions);
  // Every connection goes to the socket just checked, even if the path is swapped later.
  const pin = pinSocket(socketPath);
  const channel = new Client(pin.address, credentials.createInsecure(), transportChannelOptions(options));
  // Start connecting now (the socket is listening), so the first call need not wait for it.
  channel.getChannel().getConnectivityState(true);
  return new PluginHandle({
    name: r.driver,
    process: new ReattachedPluginProcess(r.driver, r.pid, startTime),
    channel,
    record: r,
    service: (options.service ?? hostDriverService) as S,
    callDefaults: options.callDefaults ?? driverCallDefaults,
    middleware: options.middleware,
    close: { graceMs: options.graceMs, termGraceMs: options.termGraceMs },
    // Only what driverplug made: never a forged record's directory and its files.
    removeDir: () => removeReattachedDir(r.privateDir, r.gid),
    unpin: () => pin.release(),
    guard: false,
  });
}
