// The conformance kit against the bundled fake driver, whole, as a user runs
// it, next to its floor measured in the same run: one fresh plugin launched,
// called once and closed per check (what the kit's isolation costs before any
// check does anything). The kit's target is under 30 s.
import { launch, silentLogger } from "../../src/host/index.js";
import { CONFORMANCE_CHECKS, runConformance } from "../../src/conformance/index.js";
import type { Results } from "../results.js";

export const KIT_TARGET_S = 30;

export async function runConformanceKit(results: Results): Promise<void> {
  const t0 = performance.now();
  const report = await runConformance({ driver: "fake" });
  const kitMs = performance.now() - t0;
  const failed = report.results
    .filter((r) => r.status === "FAIL")
    .map((r) => `${r.category} > ${r.name}: ${r.message}`);
  if (failed.length > 0) throw new Error(`the fake driver failed conformance checks: ${failed.join("; ")}`);

  const t1 = performance.now();
  for (let i = 0; i < CONFORMANCE_CHECKS.length; i++) {
    const plugin = await launch("fake", { logger: silentLogger });
    try {
      await plugin.client.getInfo({});
    } finally {
      await plugin.close();
    }
  }
  const floorMs = performance.now() - t1;

  results.add(
    "conformance.kit_s",
    kitMs / 1000,
    "s",
    `${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`,
  );
  results.add(
    "conformance.floor_s",
    floorMs / 1000,
    "s",
    `${CONFORMANCE_CHECKS.length} x (launch the fake plugin, one call, close), one after another, in the same run`,
  );
  results.add("ratio.conformance_over_floor", kitMs / floorMs, "x", "kit wall time / its one-plugin-per-check floor");
  results.check(
    "conformance kit against the fake driver",
    kitMs / 1000 < KIT_TARGET_S,
    `${(kitMs / 1000).toFixed(1)} s`,
    `< ${KIT_TARGET_S} s`,
  );
}
