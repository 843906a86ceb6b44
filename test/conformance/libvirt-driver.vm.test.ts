// The libvirt driver (qemu:///session, the test guest under TCG) passes the
// whole kit: real domains for every check that starts a machine, one check
// at a time. Its Create and Start are slow by nature, so the slow config is
// empty. No domain or storage pool the kit made is left afterwards.
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { runKitOnGuest } from "./vm-driver-kit.js";
import { requireVmTools, testGuest } from "../guest/test-guest.js";
import { ensureLibvirtDaemon } from "../libvirt/libvirt-daemon.js";

let guest: string;
let root: string;
let before: Set<string>;

const virsh = (...args: string[]) => execFileSync("virsh", ["-c", "qemu:///session", ...args], { encoding: "utf8" });
const names = (out: string) =>
  new Set(
    out
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean),
  );
/** Domains and pools that appeared during the run (other tests' are there before and after). */
const leftovers = () =>
  [...names(virsh("list", "--all", "--name")), ...names(virsh("pool-list", "--all", "--name"))].filter(
    (n) => !before.has(n) && n.startsWith("driverplug-"),
  );

beforeAll(async () => {
  requireVmTools();
  guest = testGuest().dir;
  await ensureLibvirtDaemon();
  root = await mkdtemp(join(tmpdir(), "dpl-"));
  before = new Set([...names(virsh("list", "--all", "--name")), ...names(virsh("pool-list", "--all", "--name"))]);
}, 600_000);

afterAll(async () => {
  // Whatever a failed check left: destroyed and removed directly.
  for (const name of before ? leftovers() : []) {
    for (const args of [
      ["destroy", name],
      ["undefine", name],
      ["pool-destroy", name],
      ["pool-delete", name],
      ["pool-undefine", name],
    ]) {
      try {
        virsh(...args);
      } catch {
        // Not that kind of object, or already gone.
      }
    }
  }
  if (root) await rm(root, { recursive: true, force: true });
}, 120_000);

test("the libvirt driver passes every check its capabilities allow, and leaves no domain", async () => {
  await runKitOnGuest("libvirt", guest, root);
  expect(leftovers()).toEqual([]);
}, 2_400_000);
