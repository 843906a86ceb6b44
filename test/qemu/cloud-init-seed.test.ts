// The cloud-init NoCloud seed of disk-image machines, made with the host's ISO
// tool and read back with isoinfo: volume label cidata; user-data with the
// machine's SSH user and key, the SSH server's limits and a bootcmd (every
// boot) that runs the seed's driverplug-boot.sh; that script, which mounts the
// shares and signals readiness in the background, is valid sh and quotes what
// it is given. A real cloud-init reads it in test/guest/debian-image.test.ts.
import { execFileSync, spawnSync } from "node:child_process";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  BOOT_SCRIPT,
  bootScript,
  makeSeed,
  metaData,
  userData,
  type SeedInput,
} from "../../src/drivers/guest/cloud-init-seed.js";
import type { SharedDir } from "../../src/plugin/index.js";

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), "dp-seed-"));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheTest driverplug-vm1";
const share = (over: Partial<SharedDir>): SharedDir => ({
  source: "/h",
  target: "/mnt/share",
  tag: "dp0",
  type: "9p",
  readOnly: false,
  username: "",
  password: "",
  ...over,
});
const input: SeedInput = {
  machineName: "vm1",
  sshUser: "debian",
  publicKey: key,
  instanceId: "0123456789ab",
  sharedDirs: [share({}), share({ tag: "dp1", target: "/srv/it's here", readOnly: true })],
};

describe("the cloud-init seed", () => {
  it("gives a non-root user the key, sudo and no password login, and runs the seed's script on every boot", () => {
    const text = userData(input);
    expect(text.split("\n")[0]).toBe("#cloud-config");
    expect(text).toContain('  - name: "debian"');
    expect(text).toContain(`    ssh_authorized_keys: [${JSON.stringify(key)}]`);
    expect(text).toContain("ssh_pwauth: false");
    expect(text).toContain("      LoginGraceTime 15\n      MaxStartups 100:30:400\n");
    // bootcmd, not runcmd: runcmd runs once per instance, so a second boot would never be ready.
    expect(text).not.toContain("runcmd");
    expect(text).toMatch(/bootcmd:\n {2}- \[sh, -c, ".*driverplug-boot\.sh.*"\]\n$/);
  });

  it("lets root in by key when the bundle's user is root", () => {
    const text = userData({ ...input, sshUser: "root" });
    expect(text).toContain("disable_root: false");
    expect(text).toContain("  - name: root");
  });

  it("has a boot script that is valid sh, mounts each share with 9p at its target, quoted, and never blocks the boot", () => {
    const script = bootScript(input);
    expect(spawnSync("sh", ["-n"], { input: script }).status).toBe(0);
    expect(script).toContain("mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 'dp0' '/mnt/share'");
    expect(script).toContain(`mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,ro 'dp1' '/srv/it'\\''s here'`);
    // Everything runs in one background subshell; the port write has a time limit.
    expect(script).toMatch(/^\(\n[\s\S]*\n\) <\/dev\/null >\/dev\/null 2>&1 &\nexit 0\n$/m);
    expect(script).toContain("timeout 3600 sh -c 'echo driverplug-ready >/dev/virtio-ports/dp.ready'");
  });

  it("is an ISO labelled cidata holding user-data, meta-data and the boot script, private to its owner", async () => {
    const path = join(dir, "seed.iso");
    await makeSeed(path, input);
    expect((await fs.stat(path)).mode & 0o777).toBe(0o600);
    const info = execFileSync("isoinfo", ["-d", "-i", path], { encoding: "utf8" });
    expect(info).toMatch(/Volume id:\s*cidata/);
    const read = (name: string) => execFileSync("isoinfo", ["-R", "-i", path, "-x", `/${name}`], { encoding: "utf8" });
    expect(read("user-data")).toBe(userData(input));
    expect(read("meta-data")).toBe('instance-id: "driverplug-vm1-0123456789ab"\nlocal-hostname: "vm1"\n');
    expect(read(BOOT_SCRIPT)).toBe(bootScript(input));
    // Made again (a later Start with other shares): replaced whole, staging gone.
    await makeSeed(path, { ...input, sharedDirs: [] });
    expect(read(BOOT_SCRIPT)).not.toContain("mount -t 9p");
    expect(await fs.readdir(dir)).toEqual(["seed.iso"]);
  });

  it("meta-data names the instance and host", () => {
    expect(metaData({ machineName: "vm2", instanceId: "abc" })).toBe(
      'instance-id: "driverplug-vm2-abc"\nlocal-hostname: "vm2"\n',
    );
  });
});
