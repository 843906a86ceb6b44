// The libvirt driver through the CLI on qemu:///session, with the test guest:
// create, start, a command over `driverplug ssh`, status, the domain
// destroyed from outside (`virsh destroy`: STOPPED, and Start works again),
// stop and rm, with `virsh list --all` showing the domain while the machine
// exists and not after. One VM, serial steps, generous budgets (TCG boots
// on a loaded 2-core machine).
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { domainName } from "../../src/drivers/libvirt/domain-name.js";
import { expectOk, Sandbox } from "../cli/driverplug-process.js";
import { requireVmTools, testGuest } from "../guest/test-guest.js";
import { forgetMachine } from "./libvirt-cleanup.js";
import { ensureLibvirtDaemon } from "./libvirt-daemon.js";

let guest: string;
let box: Sandbox;

const virshList = () =>
  execFileSync("virsh", ["-c", "qemu:///session", "list", "--all", "--name"], { encoding: "utf8" });

beforeAll(async () => {
  requireVmTools();
  guest = testGuest().dir;
  await ensureLibvirtDaemon();
  box = await Sandbox.create();
}, 600_000);

afterAll(async () => {
  if (!box) return;
  // A failed test must not leave its domain behind: removed directly, not through the driver.
  await forgetMachine(box.store, "lv1").catch(() => undefined);
  await box.dispose();
}, 120_000);

describe("the libvirt driver through the CLI (qemu:///session)", () => {
  it("creates, starts, runs a command over ssh, survives an outside destroy, stops and removes", async () => {
    await expectOk(box, ["create", "--driver", "libvirt", "--bundle", guest, "lv1"]);
    const domain = domainName("lv1", `${box.store}/machines/lv1`);
    expect(virshList()).toContain(domain);
    expect((await expectOk(box, ["status", "lv1"])).stdout.trim()).toBe("Stopped");

    const started = await expectOk(box, ["start", "lv1"]);
    expect(started.stderr).toMatch(/SSH answers on 127\.0\.0\.1:\d+/);
    const version = await expectOk(box, ["ssh", "lv1", "--", "cat", "/proc/version"]);
    expect(version.stdout).toMatch(/^Linux version /);
    expect((await expectOk(box, ["status", "lv1"])).stdout.trim()).toBe("Running");

    // Destroyed behind the driver's back: libvirt is the truth.
    execFileSync("virsh", ["-c", "qemu:///session", "destroy", domain], { stdio: "ignore" });
    expect((await expectOk(box, ["status", "lv1"])).stdout.trim()).toBe("Stopped");
    await expectOk(box, ["start", "lv1"]);
    expect((await expectOk(box, ["ssh", "lv1", "--", "uname", "-n"])).stdout).toBe("lv1\n");

    const refused = await box.run(["rm", "lv1"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/running; stop or kill it before removing it/);

    await expectOk(box, ["stop", "lv1"]);
    expect((await expectOk(box, ["status", "lv1"])).stdout.trim()).toBe("Stopped");
    expect(virshList()).toContain(domain);
    await expectOk(box, ["rm", "lv1"]);
    expect(virshList()).not.toContain(domain);
    const pools = execFileSync("virsh", ["-c", "qemu:///session", "pool-list", "--all", "--name"], {
      encoding: "utf8",
    });
    expect(pools).not.toContain(domain);
    expect(await forgetMachine(box.store, "lv1")).toBe(false);
  }, 900_000);
});
