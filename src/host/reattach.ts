// reattach(): connects to a plugin another host process launched, from the
// record that host saved. The record is checked like a fresh handshake (the
// private dir's owner and mode, the socket's place, type, owner and mode) and
// its pid must be alive and hold that socket. close() then uses Shutdown,
// signals only that same process, and removes only what driverplug made.
// The checks alone are reattach-verify.ts's.
import { Client, credentials } from "@grpc/grpc-js";
import type { DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { hostDriverService } from "./driver-service.js";
import type { ServiceDefinitionShape } from "../protocol/service-types.js";
import { pinSocket } from "./pinned-socket.js";
import { driverCallDefaults, type CallDefaults } from "./call-options.js";
import type { ClientMiddleware } from "./client-middleware.js";
import { PluginHandle, type CloseOptions } from "./plugin-handle.js";
import { ReattachedPluginProcess } from "./plugin-process.js";
import { removeReattachedDir } from "./private-socket-dir.js";
import { verifyReattachRecord } from "./reattach-verify.js";
import { transportChannelOptions, type TransportOptions } from "./channel-options.js";

export { verifyReattachRecord, type VerifiedRecord } from "./reattach-verify.js";

export interface ReattachOptions<S extends ServiceDefinitionShape = typeof DriverServiceService>
  extends CloseOptions, TransportOptions {
  versions?: readonly number[];
  service?: S;
  callDefaults?: CallDefaults;
  /** Around every call of the handle's client, the first listed outermost, as launch()'s. */
  middleware?: readonly ClientMiddleware[];
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
