// The cloud-init NoCloud seed of disk-image bundles, made with the host's ISO
// tool and read back with isoinfo: volume label cidata, user-data with the
// machine's SSH user and key and the readiness line, meta-data with the host
// name. Booting a real cloud image needs the network; the seed does not.
import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeSeed, metaData, userData } from "../../src/drivers/guest/cloud-init-seed.js";

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), "dp-seed-"));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheTest driverplug-vm1";

describe("the cloud-init seed", () => {
  it("gives a non-root user the key, sudo and no password login", () => {
    const text = userData({ machineName: "vm1", sshUser: "debian", publicKey: key });
    expect(text.split("\n")[0]).toBe("#cloud-config");
    expect(text).toContain('  - name: "debian"');
    expect(text).toContain(`    ssh_authorized_keys: [${JSON.stringify(key)}]`);
    expect(text).toContain("ssh_pwauth: false");
    expect(text).toContain("driverplug-ready > /dev/virtio-ports/dp.ready");
  });

  it("lets root in by key when the bundle's user is root", () => {
    const text = userData({ machineName: "vm1", sshUser: "root", publicKey: key });
    expect(text).toContain("disable_root: false");
    expect(text).toContain("  - name: root");
  });

  it("is an ISO labelled cidata holding user-data and meta-data, private to its owner", async () => {
    const path = join(dir, "seed.iso");
    await makeSeed(path, { machineName: "vm1", sshUser: "debian", publicKey: key });
    expect((await fs.stat(path)).mode & 0o777).toBe(0o600);
    const info = execFileSync("isoinfo", ["-d", "-i", path], { encoding: "utf8" });
    expect(info).toMatch(/Volume id:\s*cidata/);
    const read = (name: string) => execFileSync("isoinfo", ["-J", "-i", path, "-x", `/${name}`], { encoding: "utf8" });
    expect(read("user-data")).toBe(userData({ machineName: "vm1", sshUser: "debian", publicKey: key }));
    expect(read("meta-data")).toMatch(/^instance-id: "driverplug-vm1-[0-9a-f]{12}"\nlocal-hostname: "vm1"\n$/);
    // The staging folder is gone.
    expect(await fs.readdir(dir)).toEqual(["seed.iso"]);
  });

  it("meta-data names the instance and host", () => {
    expect(metaData({ machineName: "vm2", sshUser: "root", publicKey: key }, "abc")).toBe(
      'instance-id: "driverplug-vm2-abc"\nlocal-hostname: "vm2"\n',
    );
  });
});
