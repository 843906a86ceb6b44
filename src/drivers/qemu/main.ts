// Entry point of the driverplug-driver-qemu plugin executable: one driver
// instance per machine (CAPABILITY_MACHINE_INSTANCES), so one plugin answers
// every qemu machine of a command, `ls` in one GetMachineStates call.
import { createLogger, serve } from "../../plugin/index.js";
import { QemuDriver } from "./qemu-driver.js";

export const QEMU_DRIVER_VERSION = "0.1.0";

const log = createLogger("qemu");
// Not awaited: no top-level await, so the executable can be a CommonJS bundle
// with a V8 code cache (scripts/bundle-plugin.mjs). serve() reports and exits
// on its own failures.
void serve({ name: "qemu", version: QEMU_DRIVER_VERSION, driver: () => new QemuDriver(log), logger: log });
