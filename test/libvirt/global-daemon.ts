// vitest globalSetup: whatever libvirt daemons the libvirt tests started are
// stopped when the run ends, passed or failed (libvirt-daemon.ts).
import { stopTestDaemons } from "./libvirt-daemon.js";

export async function setup(): Promise<void> {
  // Daemons a crashed earlier run left: not ours to keep.
  await stopTestDaemons();
}

export async function teardown(): Promise<void> {
  await stopTestDaemons();
}
