// The qemu driver, booting the test guest (`make guest`) under TCG, passes
// the whole kit: real VMs for every check that starts a machine, one check at
// a time (two cores boot one guest at a time well). Its Create and Start are
// slow by nature, so the slow config is empty: a check that could not act
// during one fails instead of skipping. No QEMU is left afterwards.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { formatResult, runConformance } from "../../src/conformance/index.js";
import { requireVmTools, testGuest } from "../guest/test-guest.js";
import { killTestVms } from "../qemu/vm-cleanup.js";

let guest: string;
let root: string;

beforeAll(async () => {
  requireVmTools();
  guest = testGuest().dir;
  root = await mkdtemp(join(tmpdir(), "dpq-"));
}, 600_000);

afterAll(async () => {
  await killTestVms(root);
  await rm(root, { recursive: true, force: true });
});

test("the qemu driver passes every check its capabilities allow, and leaves no VM", async () => {
  const lines: string[] = [];
  const report = await runConformance({
    driver: "qemu",
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
  // 9p shares take no password, so the qemu driver's config can hold no secret to watch for.
  expect(report.results.filter((r) => r.status === "SKIP").map((r) => r.name)).toEqual([
    "secrets never reach the plugin's logs",
  ]);
  expect(report.passed).toBe(report.results.length - 1);
  // The kit removed every machine it made: no QEMU still holds a pidfile under its stores.
  expect(await killTestVms(root)).toEqual([]);
}, 1_800_000);
