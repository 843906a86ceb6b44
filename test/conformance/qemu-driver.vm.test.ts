// The qemu driver, booting the test guest (`make guest`) under TCG, passes
// the whole kit: real VMs for every check that starts a machine, one check at
// a time (two cores boot one guest at a time well). Its Create and Start are
// slow by nature, so the slow config is empty: a check that could not act
// during one fails instead of skipping. No QEMU is left afterwards.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { requireVmTools, testGuest } from "../guest/test-guest.js";
import { killTestVms } from "../qemu/vm-cleanup.js";
import { runKitOnGuest } from "./vm-driver-kit.js";

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
  await runKitOnGuest("qemu", guest, root);
  // The kit removed every machine it made: no QEMU still holds a pidfile under its stores.
  expect(await killTestVms(root)).toEqual([]);
}, 1_800_000);
