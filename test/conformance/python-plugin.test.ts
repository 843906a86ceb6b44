// The Python plugin of test/interop, written from the protocol document with
// nothing from driverplug but the protos, passes the kit run through the
// library entry (as a driver's own test suite would): every check passes but
// the ones its missing capabilities gate, which are skipped and say so.
import { beforeAll, expect, test } from "vitest";
import { CONFORMANCE_CHECKS, formatResult, runConformance, SECRET_PLACEHOLDER } from "../../src/conformance/index.js";
import { preparePython, PYFAKE_PLUGIN } from "../interop/toolchain.js";

beforeAll(async () => {
  await preparePython();
}, 120_000);

test("the Python plugin passes every check its capabilities allow", async () => {
  const lines: string[] = [];
  const report = await runConformance({
    plugin: PYFAKE_PLUGIN,
    slowConfig: { stepDelayMs: 500 },
    secretConfig: { sharedDirs: [{ source: "/tmp", target: "/mnt/kit", password: SECRET_PLACEHOLDER }] },
    stepTimeoutMs: 30_000,
    onResult: (r) => lines.push(formatResult(r)),
  });
  const failed = report.results.filter((r) => r.status === "FAIL");
  expect(failed, lines.join("\n")).toEqual([]);
  expect(report.results).toHaveLength(CONFORMANCE_CHECKS.length);
  // pyfake advertises no Restart: the Restart check is the one gated off.
  const skipped = report.results.filter((r) => r.status === "SKIP");
  expect(skipped.map((r) => [r.name, r.message])).toEqual([
    ["Restart of a running machine leaves it RUNNING", "the driver does not advertise CAPABILITY_RESTART"],
  ]);
  expect(report.passed).toBe(CONFORMANCE_CHECKS.length - 1);
}, 300_000);
