// driverplug's public API.
export * from "../generated/driverplug/driver/v1/driver.js";
