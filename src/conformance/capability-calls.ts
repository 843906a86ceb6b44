// For each optional capability, the RPC that implements it and a call that
// proves it is there: any answer but UNIMPLEMENTED (NOT_FOUND before Create
// is fine). A capability advertised whose RPC answers UNIMPLEMENTED is a lie.
import { Capability } from "../../generated/driverplug/driver/v1/driver.js";
import type { DriverClient } from "./kit-plugin.js";

export interface CapabilityCall {
  capability: Capability;
  rpc: string;
  call(client: DriverClient, configJson: Buffer): Promise<unknown>;
}

async function firstMessage(stream: AsyncIterable<unknown>): Promise<unknown> {
  for await (const message of stream) return message;
  return undefined;
}

export const CAPABILITY_CALLS: readonly CapabilityCall[] = [
  {
    capability: Capability.CAPABILITY_WATCH_STATE,
    rpc: "WatchState",
    call: (c) => firstMessage(c.watchState({})),
  },
  {
    capability: Capability.CAPABILITY_UPDATE_CONFIG,
    rpc: "UpdateConfig",
    call: (c, configJson) => c.updateConfig({ configJson }),
  },
  { capability: Capability.CAPABILITY_RESTART, rpc: "Restart", call: (c) => c.restart({}) },
  { capability: Capability.CAPABILITY_SSH, rpc: "GetSSHInfo", call: (c) => c.getSshInfo({}) },
  { capability: Capability.CAPABILITY_URL, rpc: "GetURL", call: (c) => c.getUrl({}) },
  { capability: Capability.CAPABILITY_SHARED_DIRS, rpc: "GetSharedDirs", call: (c) => c.getSharedDirs({}) },
  { capability: Capability.CAPABILITY_BUNDLE, rpc: "GetBundleName", call: (c) => c.getBundleName({}) },
];

export function capabilityName(c: Capability): string {
  return (Capability[c] as string | undefined) ?? `capability ${c}`;
}
