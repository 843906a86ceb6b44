// The libvirt driver on a remote URI, qemu+ssh://<second user>@127.0.0.1:<port>/session,
// against a second local user with its own sshd (remote-host.ts): the
// lifecycle through the CLI, the guest's QEMU running as that user, its
// disk, kernel and initrd uploaded into that user's pool, `driverplug ssh`
// reaching the guest through the SSH host, and a changed host key refused
// (by the driver's connection, so by `driverplug status` and `driverplug ssh`) until the old pin is
// removed as the message says.
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { domainName } from "../../src/drivers/libvirt/domain-name.js";
import { expectOk, Sandbox } from "../cli/driverplug-process.js";
import { requireVmTools, testGuest } from "../guest/test-guest.js";
import { forgetMachine } from "./libvirt-cleanup.js";
import { type RemoteHost, startRemoteHost } from "./remote-host.js";

let guest: string;
let box: Sandbox;
let remote: RemoteHost;

beforeAll(async () => {
  requireVmTools();
  guest = testGuest().dir;
  remote = await startRemoteHost();
  box = await Sandbox.create();
}, 600_000);

afterAll(async () => {
  if (box) {
    await forgetMachine(box.store, "rv1", remote.uri).catch(() => undefined);
    await box.dispose();
  }
  await remote?.dispose();
}, 120_000);

describe("the libvirt driver on qemu+ssh:// (a second local user)", () => {
  it("runs the machine as the remote user from uploaded volumes, reaches it with driverplug ssh, and refuses a changed host key", async () => {
    await expectOk(box, ["create", "--driver", "libvirt", "--uri", remote.uri, "--bundle", guest, "rv1"]);
    const storePath = join(box.store, "machines", "rv1");
    const domain = domainName("rv1", storePath);
    const pool = join(remote.home, ".local/share/libvirt/images/driverplug", domain);
    for (const file of ["vmlinuz", "initrd.img", "disk.qcow2"]) {
      const st = statSync(join(pool, file));
      expect(st.uid, file).toBe(remote.uid);
    }
    expect(readFileSync(join(pool, "vmlinuz")).equals(readFileSync(join(guest, "vmlinuz")))).toBe(true);
    const pin = join(storePath, "lv", "known_hosts");
    expect(readFileSync(pin, "utf8")).toMatch(/ssh-ed25519 AAAA/);

    await expectOk(box, ["start", "rv1"]);
    expect(remote.processes().map((p) => p.comm)).toContain("qemu-system-x86");
    const info = await expectOk(box, ["ssh-info", "rv1"]);
    expect(info.stdout).toMatch(new RegExp(`Through: +${remote.user}@127\\.0\\.0\\.1:${remote.port} \\(SSH jump\\)`));
    const version = await expectOk(box, ["ssh", "rv1", "--", "cat", "/proc/version"]);
    expect(version.stdout).toMatch(/^Linux version /);
    expect((await expectOk(box, ["status", "rv1"])).stdout.trim()).toBe("Running");

    // The remote host's key changes: both the driver's connection and driverplug ssh refuse it.
    await remote.changeHostKey();
    const status = await box.run(["status", "rv1"]);
    expect(status.code).not.toBe(0);
    expect(status.stderr).toMatch(/not the one pinned in .*known_hosts: refusing to connect/);
    // driverplug ssh asks the driver first (GetSSHInfo), which refuses the same way before any ssh runs.
    const ssh = await box.run(["ssh", "rv1", "--", "true"]);
    expect(ssh.code).not.toBe(0);
    expect(ssh.stderr).toMatch(/not the one pinned in .*known_hosts: refusing to connect/);

    // What the message says to do: remove the old pin; the next connection pins the new key.
    writeFileSync(pin, "");
    expect((await expectOk(box, ["status", "rv1"])).stdout.trim()).toBe("Running");
    await expectOk(box, ["stop", "rv1"]);
    expect(remote.processes().map((p) => p.comm)).not.toContain("qemu-system-x86");
    await expectOk(box, ["rm", "rv1"]);
    expect(existsSync(pool)).toBe(false);
    expect(await forgetMachine(box.store, "rv1", remote.uri, join(box.root, "kh"))).toBe(false);
  }, 900_000);
});
