// The bundled fake driver is the kit's reference: `driverplug conformance
// --driver fake` runs every check, all pass, nothing is skipped, the closing
// line says so, the JUnit file agrees, and the run leaves nothing behind.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { CATEGORIES, CONFORMANCE_CHECKS, checkId } from "../../src/conformance/index.js";
import { KitSandbox, resultLines } from "./kit-sandbox.js";

let kit: KitSandbox;
beforeEach(async () => {
  kit = await KitSandbox.create();
});
afterEach(async () => {
  await kit.dispose();
});

test("the fake driver passes every check, with the closing line, a JUnit report and nothing left", async () => {
  const junit = join(kit.box.root, "report.xml");
  const r = await kit.run(["--driver", "fake", "--junit", junit]);
  expect(r.code, r.stderr + r.stdout).toBe(0);
  const lines = resultLines(r.stdout);
  expect(lines.map(([, id]) => id)).toEqual(CONFORMANCE_CHECKS.map(checkId));
  expect(lines.filter(([status]) => status !== "PASS")).toEqual([]);
  const n = CONFORMANCE_CHECKS.length;
  expect(r.stdout.trimEnd().split("\n").pop()).toBe(`${n} passed, 0 failed, 0 skipped`);
  // Every category of the contract has checks.
  expect(new Set(CONFORMANCE_CHECKS.map((c) => c.category))).toEqual(new Set(CATEGORIES));
  const xml = await readFile(junit, "utf8");
  expect(xml).toContain(`tests="${n}" failures="0" skipped="0"`);
  expect(xml.match(/<testcase /g)).toHaveLength(n);
  expect(await kit.processes()).toEqual([]);
  expect(await kit.leftovers()).toEqual([]);
}, 240_000);
