// Launches the fixture plugin in one of its serving modes for a test.
import { launch, silentLogger, type LaunchOptions, type PluginHandle } from "../../src/host/index.js";
import { DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import type { ServiceDefinitionShape } from "../../src/protocol/service-types.js";
import { FIXTURE, type HostTestEnv } from "./host-test-env.js";

export function launchFixture<S extends ServiceDefinitionShape = typeof DriverServiceService>(
  env: HostTestEnv,
  mode: string,
  options: LaunchOptions<S> = {},
): Promise<PluginHandle<S>> {
  return launch<S>("fixture", {
    service: DriverServiceService as unknown as S,
    executable: FIXTURE,
    args: [mode],
    socketBaseDir: env.base,
    logger: silentLogger,
    startTimeoutMs: 10_000,
    env: { FIXTURE_SCRATCH: env.scratch },
    graceMs: 500,
    termGraceMs: 500,
    ...options,
  });
}
