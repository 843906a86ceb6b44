// The fake plugin's entry without top-level await, so esbuild can bundle it
// as CommonJS for the code-cache loader (fake-bundle.ts). Same serve() call
// as src/drivers/fake/main.ts.
import { FakeDriver } from "../../src/drivers/fake/fake-driver.js";
import { createLogger } from "../../src/plugin/logger.js";
import { serve } from "../../src/plugin/serve.js";

const log = createLogger("fake");
serve({ name: "fake", version: "0.1.0", driver: new FakeDriver(log), log }).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
