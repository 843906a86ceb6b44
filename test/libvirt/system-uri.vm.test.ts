// The libvirt driver on `qemu:///system` through the CLI: the privileged
// daemon (started by the tests in the private mount namespace of
// daemon-launch.ts when none runs), the machine's pool under libvirt's images
// directory where its QEMU user can read it, the guest's QEMU running as that
// user (libvirt-qemu), not as root, and the lifecycle through `driverplug
// ssh`. And what docs/libvirt.md says of non-root users: the system socket
// takes anyone's connection, and libvirtd then asks polkit over D-Bus, which
// fails here (no system bus), with the driver's message saying what to use.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, promises as fs, readFileSync, statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { domainName } from "../../src/drivers/libvirt/domain-name.js";
import { PRIVILEGED_POOL_ROOT } from "../../src/drivers/libvirt/machine-storage.js";
import { kvmNeedsMasking } from "../../src/drivers/libvirt/rpc/daemon-launch.js";
import { expectOk, Sandbox } from "../cli/driverplug-process.js";
import { requireVmTools, testGuest } from "../guest/test-guest.js";
import { forgetMachine } from "./libvirt-cleanup.js";
import { ensureLibvirtDaemon, type TestDaemon } from "./libvirt-daemon.js";

const URI = "qemu:///system";
let guest: string;
let box: Sandbox;
let daemon: TestDaemon;

const virsh = (...args: string[]) => execFileSync("virsh", ["-q", "-c", URI, ...args], { encoding: "utf8" });

beforeAll(async () => {
  if (process.geteuid?.() !== 0)
    throw new Error("the qemu:///system tests start the privileged libvirt daemon: run them as root (CI does)");
  requireVmTools();
  guest = testGuest().dir;
  // As root, qemu:///session is the privileged daemon too: this is the one qemu:///system reaches.
  daemon = await ensureLibvirtDaemon();
  box = await Sandbox.create();
}, 600_000);

afterAll(async () => {
  if (!box) return;
  await forgetMachine(box.store, "sys1", URI).catch(() => undefined);
  await box.dispose();
}, 120_000);

/** The pid of the QEMU running `domain`, from the pidfile the privileged daemon keeps. */
function qemuPid(domain: string): number {
  return Number(readFileSync(`/run/libvirt/qemu/${domain}.pid`, "utf8").trim());
}

describe("the libvirt driver on qemu:///system", () => {
  it("runs the lifecycle with the pool under libvirt's images and QEMU as libvirt-qemu", async () => {
    if (daemon.started) {
      // The daemon this run started sees the private qemu.conf (namespaces = [], no virtlogd) and,
      // where /dev/kvm exists but the QEMU user cannot open it, an empty file in its place.
      const mounts = readFileSync(`/proc/${daemon.pid}/mountinfo`, "utf8");
      expect(mounts).toMatch(/ \/etc\/libvirt\/qemu\.conf /);
      if (kvmNeedsMasking()) expect(mounts).toMatch(/ \/dev\/kvm /);
    }
    await expectOk(box, ["create", "--driver", "libvirt", "--uri", URI, "--bundle", guest, "sys1"]);
    const domain = domainName("sys1", `${box.store}/machines/sys1`);
    expect(virsh("list", "--all", "--name")).toContain(domain);
    // The pool's directory: where libvirt-qemu can reach it (0711), not in root's store.
    const poolDir = `${PRIVILEGED_POOL_ROOT}/${domain}`;
    expect(virsh("pool-dumpxml", domain)).toContain(`<path>${poolDir}</path>`);
    expect(statSync(poolDir).mode & 0o777).toBe(0o711);
    expect((await fs.readdir(poolDir)).sort()).toEqual(["disk.qcow2", "initrd.img", "vmlinuz"]);
    expect(existsSync(`${box.store}/machines/sys1/lv/pool`)).toBe(false);
    // TCG unless KVM is usable here.
    expect(virsh("dumpxml", domain)).toMatch(/<domain type='(qemu|kvm)'/);
    if (!existsSync("/dev/kvm") || kvmNeedsMasking()) expect(virsh("dumpxml", domain)).toContain("<domain type='qemu'");

    const started = await expectOk(box, ["start", "sys1"]);
    expect(started.stderr).toMatch(/SSH answers on 127\.0\.0\.1:\d+/);
    expect((await expectOk(box, ["status", "sys1"])).stdout.trim()).toBe("Running");
    expect(virsh("domstate", domain).trim()).toBe("running");
    // QEMU runs as libvirt's QEMU user, not as root.
    const qemuUid = statSync(`/proc/${qemuPid(domain)}`).uid;
    if (daemon.started) {
      // Not in libvirt's machine cgroup, whose CPU weight is one task's: QEMU competes as any process.
      expect(readFileSync(`/proc/${qemuPid(domain)}/cgroup`, "utf8")).not.toContain("/machine");
    }
    expect(qemuUid).toBe(Number(execFileSync("id", ["-u", "libvirt-qemu"], { encoding: "utf8" }).trim()));
    const version = await expectOk(box, ["ssh", "sys1", "--", "cat", "/proc/version"]);
    expect(version.stdout).toMatch(/^Linux version /);

    await expectOk(box, ["stop", "sys1"]);
    expect((await expectOk(box, ["status", "sys1"])).stdout.trim()).toBe("Stopped");
    expect(virsh("domstate", domain).trim()).toBe("shut off");
    await expectOk(box, ["rm", "sys1"]);
    expect(virsh("list", "--all", "--name")).not.toContain(domain);
    expect(virsh("pool-list", "--all", "--name")).not.toContain(domain);
    expect(existsSync(poolDir)).toBe(false);
    expect(await box.machines()).toEqual([]);
  }, 900_000);

  it("refuses a non-root user: libvirtd asks polkit, which cannot be reached, and the message says what to use", () => {
    // The driver's own libvirt client, run as nobody, against the same system socket.
    const client = new URL("../../dist/src/drivers/libvirt/rpc/connection.js", import.meta.url).pathname;
    if (!existsSync(client)) throw new Error(`${client} is missing: run \`make build\` first`);
    const script =
      `import { LibvirtConnection } from ${JSON.stringify(client)};\n` +
      `try { const c = await LibvirtConnection.open(${JSON.stringify(URI)}); await c.close(); console.log("opened"); }\n` +
      `catch (e) { console.log(e.message); }\n`;
    const r = spawnSync("runuser", ["-u", "nobody", "--", process.execPath, "--input-type=module", "-e", script], {
      encoding: "utf8",
      cwd: "/",
    });
    expect(r.status, r.stderr).toBe(0);
    // The socket took the connection (it is 0777); polkit, asked over D-Bus, could not be reached.
    expect(statSync("/run/libvirt/libvirt-sock").mode & 0o777).toBe(0o777);
    // Without a D-Bus system bus (containers, CI) polkit cannot even be asked.
    if (!existsSync("/run/dbus/system_bus_socket")) expect(r.stdout).toContain("Unable to get system bus connection");
    expect(r.stdout).not.toContain("opened");
    expect(r.stdout).toContain("asks polkit, over D-Bus, whether this user may manage domains");
    expect(r.stdout).toContain("Use qemu:///session (the default) or run as root");
    // virsh, libvirt's own client, is refused the same way.
    const v = spawnSync("runuser", ["-u", "nobody", "--", "virsh", "-c", URI, "list"], { encoding: "utf8", cwd: "/" });
    expect(v.status).not.toBe(0);
    if (!existsSync("/run/dbus/system_bus_socket")) expect(v.stderr).toContain("Unable to get system bus connection");
  });
});
