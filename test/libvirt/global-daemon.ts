// vitest globalSetup: the libvirt daemons this run's libvirt tests start are
// stopped when the run ends, passed or failed (libvirt-daemon.ts). The run's
// marker file is named here, in the environment the test workers inherit.
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DAEMON_MARKER_ENV, stopTestDaemons } from "./libvirt-daemon.js";

export function setup(): void {
  process.env[DAEMON_MARKER_ENV] ??= join(tmpdir(), `driverplug-test-libvirtd-${process.pid}.pids`);
}

export async function teardown(): Promise<void> {
  await stopTestDaemons();
}
