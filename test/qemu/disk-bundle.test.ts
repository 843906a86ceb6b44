// A disk-image bundle, created through the real plugin without booting it
// (test/guest/debian-image.test.ts boots a real image): the machine's disk is
// a qcow2 overlay whose backing file is the bundle's base image, never grown
// smaller than it, and the cloud-init seed carries the machine's own public key.
import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { launch, silentLogger, type PluginHandle } from "../../src/host/index.js";
import { requireVmTools } from "../guest/test-guest.js";

let root: string;
let plugin: PluginHandle | undefined;

beforeEach(async () => {
  requireVmTools();
  root = await fs.mkdtemp(join(tmpdir(), "dp-disk-"));
});
afterEach(async () => {
  await plugin?.close();
  plugin = undefined;
  await fs.rm(root, { recursive: true, force: true });
});

describe("a disk-image bundle", () => {
  it("makes an overlay disk on the base image and a seed holding the machine's key", async () => {
    const bundle = join(root, "bundle");
    await fs.mkdir(bundle);
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", join(bundle, "base.qcow2"), "3G"]);
    await fs.writeFile(
      join(bundle, "bundle.json"),
      JSON.stringify({ name: "cloud", version: "12", disk: "base.qcow2", sshUser: "debian", readiness: "ssh" }),
    );
    const storePath = join(root, "m");
    await fs.mkdir(storePath, { mode: 0o700 });
    plugin = await launch("qemu", { socketBaseDir: join(root, "b"), logger: silentLogger });
    const config = { machineName: "cloud1", storePath, bundlePath: bundle, diskGiB: 1 };
    await plugin.client.setConfig({ configJson: Buffer.from(JSON.stringify(config)) });
    await plugin.client.preCreateCheck({});
    const steps: string[] = [];
    for await (const e of plugin.client.create({})) steps.push(e.progress!.step);
    // An empty base image has no MBR boot code: firmware "auto" picks UEFI, with the machine's own variable store.
    expect(steps).toEqual(["check", "key", "disk", "firmware", "seed", "port", "done"]);
    expect((await plugin.client.getBundleName({})).bundleName).toBe("cloud-12");

    const vm = join(storePath, "vm");
    const info = JSON.parse(
      execFileSync("qemu-img", ["info", "--output=json", join(vm, "disk.qcow2")], { encoding: "utf8" }),
    ) as { "backing-filename"?: string; "virtual-size": number };
    expect(info["backing-filename"]).toBe(join(await fs.realpath(bundle), "base.qcow2"));
    // 1 GiB was asked for, but an overlay is never smaller than its base.
    expect(info["virtual-size"]).toBe(3 * 1024 ** 3);

    const publicKey = (await fs.readFile(join(vm, "id_ed25519.pub"), "utf8")).trim();
    const userData = execFileSync("isoinfo", ["-R", "-i", join(vm, "seed.iso"), "-x", "/user-data"], {
      encoding: "utf8",
    });
    expect(userData).toContain(`  - name: "debian"`);
    expect(userData).toContain(JSON.stringify(publicKey));
    for (const file of ["disk.qcow2", "seed.iso", "id_ed25519", "id_ed25519.pub", "efivars.fd"])
      expect((await fs.stat(join(vm, file))).mode & 0o777).toBe(0o600);
    // No kernel was copied: the image boots from its own bootloader.
    expect((await fs.readdir(vm)).sort()).toEqual([
      "disk.qcow2",
      "efivars.fd",
      "id_ed25519",
      "id_ed25519.pub",
      "machine.json",
      "seed.iso",
    ]);
    await plugin.client.remove({});
    await expect(fs.stat(vm)).rejects.toThrow(/ENOENT/);
  });
});
