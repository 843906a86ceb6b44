// The conformance kit run on a VM driver (qemu, libvirt) booting the test
// guest under TCG: one check at a time, real Create and Start as the slow
// operations (so the slow config is empty: a check that could not act during
// one fails instead of skipping), and the outcome such a driver must give,
// every check passing but the secrets check, which skips: its config holds no
// secret (no shared directory with a password).
import { join } from "node:path";
import { expect } from "vitest";
import { formatResult, runConformance, type ConformanceReport } from "../../src/conformance/index.js";

export async function runKitOnGuest(
  driver: "qemu" | "libvirt",
  guest: string,
  root: string,
): Promise<ConformanceReport> {
  const lines: string[] = [];
  const report = await runConformance({
    driver,
    config: { bundlePath: guest, cpus: 1, memoryMiB: 256, bootTimeoutMs: 240_000 },
    slowConfig: {},
    jobs: 1,
    stepTimeoutMs: 300_000,
    workDir: join(root, "kit"),
    onResult: (r) => lines.push(formatResult(r)),
  });
  expect(
    report.results.filter((r) => r.status === "FAIL"),
    lines.join("\n"),
  ).toEqual([]);
  expect(report.results.filter((r) => r.status === "SKIP").map((r) => r.name)).toEqual([
    "secrets never reach the plugin's logs",
  ]);
  expect(report.passed).toBe(report.results.length - 1);
  return report;
}
