// Entry point of the driverplug-driver-fake plugin executable.
import { createLogger, serve } from "../../plugin/index.js";
import { FakeDriver } from "./fake-driver.js";

export const FAKE_DRIVER_VERSION = "0.1.0";

const log = createLogger("fake");
// Not awaited: no top-level await, so the executable can be a CommonJS bundle
// with a V8 code cache (scripts/bundle-plugin.mjs). serve() reports and exits
// on its own failures.
// One instance per machine: one plugin process serves all of a host's fake machines.
void serve({ name: "fake", version: FAKE_DRIVER_VERSION, driver: () => new FakeDriver(log), logger: log });
