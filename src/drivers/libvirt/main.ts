// Entry point of the driverplug-driver-libvirt plugin executable: one driver
// instance per machine (CAPABILITY_MACHINE_INSTANCES), all sharing one
// libvirt connection per URI.
import { createLogger, serve } from "../../plugin/index.js";
import { ConnectionPool } from "./connection-pool.js";
import { LibvirtDriver } from "./libvirt-driver.js";

export const LIBVIRT_DRIVER_VERSION = "0.1.0";

const log = createLogger("libvirt");
const connections = new ConnectionPool();
// Not awaited: no top-level await, so the executable can be a CommonJS bundle
// with a V8 code cache (scripts/bundle-plugin.mjs). serve() reports and exits
// on its own failures.
void serve({
  name: "libvirt",
  version: LIBVIRT_DRIVER_VERSION,
  driver: () => new LibvirtDriver(connections, log),
  logger: log,
});
