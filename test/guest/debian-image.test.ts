// What `make guest-debian` builds, checked without booting it: a
// self-contained qcow2 with its manifest; a GPT with a BIOS boot partition, an
// EFI system partition and the root partition; GRUB wired for BIOS (boot code
// in the MBR pointing at its core image) and for UEFI (the removable path);
// no SSH host keys or machine-id; the generic kernel's 9p and virtio_console
// modules; and the cache answering the second time without rebuilding.
// Booting it is the qemu driver's tests' business.
import { execFileSync } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, readSync, closeSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseManifest } from "../../src/drivers/guest/bundle.js";
import {
  buildDebianImage,
  debianImage,
  DEBIAN_BUILD_TIMEOUT_MS,
  requireImageTools,
  type DebianImage,
} from "./debian-image.js";

const SECTOR = 512;

interface Partition {
  number: number;
  start: number;
  end: number;
  code: string;
}

let image: DebianImage;
let tmp: string;
let raw: string;
let partitions: Partition[];
let rootFs: string;

beforeAll(() => {
  requireImageTools();
  image = debianImage();
  tmp = mkdtempSync(path.join(os.tmpdir(), "dp-img-"));
  raw = path.join(tmp, "disk.raw");
  // A raw copy (sparse, seconds) lets sgdisk, mtools and e2fsprogs read it.
  execFileSync("qemu-img", ["convert", "-O", "raw", image.path, raw]);
  partitions = execFileSync("sgdisk", ["-p", raw], { encoding: "utf8" })
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\d+)\s+\S+ \S+\s+([0-9A-F]{4})/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ number: Number(m[1]), start: Number(m[2]), end: Number(m[3]), code: m[4] ?? "" }));
  const root = partitions.find((p) => p.number === 1);
  if (!root) throw new Error(`no root partition 1 in ${image.path}: ${JSON.stringify(partitions)}`);
  // e2fsprogs reads a file system inside a bigger file with "?offset=".
  rootFs = `${raw}?offset=${root.start * SECTOR}`;
}, DEBIAN_BUILD_TIMEOUT_MS);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function partition(code: string): Partition {
  const p = partitions.find((x) => x.code === code);
  if (!p) throw new Error(`no partition of type ${code}: ${JSON.stringify(partitions)}`);
  return p;
}

function readBytes(file: string, offset: number, length: number): Buffer {
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, offset);
    return buf;
  } finally {
    closeSync(fd);
  }
}

/** Runs one debugfs request against the root file system (read-only). */
function debugfs(request: string): string {
  return execFileSync("debugfs", ["-R", request, rootFs], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
}

function catFile(file: string): string {
  return debugfs(`cat ${file}`);
}

describe("the Debian image, read without booting it", () => {
  it("is a self-contained qcow2 with a manifest naming its user and firmware", () => {
    const info = JSON.parse(execFileSync("qemu-img", ["info", "--output=json", image.path], { encoding: "utf8" })) as {
      format: string;
      "virtual-size": number;
      "backing-filename"?: string;
    };
    expect(info.format).toBe("qcow2");
    expect(info["backing-filename"]).toBeUndefined();
    expect(info["virtual-size"]).toBe(image.manifest.virtualSizeGiB * 1024 ** 3);

    expect(image.manifest).toMatchObject({
      name: "driverplug-debian-12",
      disk: path.basename(image.path),
      format: "qcow2",
      arch: "x86_64",
      sshUser: "debian",
      cloudInit: "NoCloud",
      sharedDirs: "9p",
    });
    expect([...image.manifest.firmware].sort()).toEqual(["bios", "uefi"]);
    expect(image.path).toContain(image.manifest.version);

    // The same image as a disk-image bundle the qemu driver accepts.
    const bundle = parseManifest(readFileSync(path.join(image.dir, "bundle.json"), "utf8"), "bundle.json");
    expect(bundle).toMatchObject({ disk: path.basename(image.path), sshUser: "debian", readiness: "virtio-serial" });

    const packages = readFileSync(path.join(image.dir, "packages.txt"), "utf8");
    for (const p of ["systemd", "cloud-init", "openssh-server", `linux-image-${image.manifest.kernel}`]) {
      expect(packages).toMatch(new RegExp(`^${p.replace(/[.+]/g, "\\$&")}=`, "m"));
    }
  });

  it("has a GPT with a BIOS boot partition, an EFI system partition and the root partition last", () => {
    expect(partitions.map((p) => [p.number, p.code]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [1, "8300"],
      [14, "EF02"],
      [15, "EF00"],
    ]);
    const root = partition("8300");
    for (const p of partitions) expect(p.start).toBeLessThanOrEqual(root.start);
  });

  it("boots by BIOS: GRUB's boot code in the MBR points at its core image in the BIOS boot partition", () => {
    const mbr = readBytes(raw, 0, SECTOR);
    const bios = partition("EF02");
    expect(mbr.readUInt16LE(0x1fe)).toBe(0xaa55);
    expect(mbr[0x1be + 4]).toBe(0xee); // the protective MBR entry stays
    expect(Number(mbr.readBigUInt64LE(0x5c))).toBe(bios.start); // where the core image starts
    expect(mbr[0x64]).toBe(0xff); // boot from the drive the BIOS says
    const bootImg = readFileSync("/usr/lib/grub/i386-pc/boot.img");
    expect(mbr.subarray(0x68, 0x1b8).equals(bootImg.subarray(0x68, 0x1b8))).toBe(true);

    // diskboot, the core image's first sector, loads the rest from the next sectors.
    const diskboot = readBytes(raw, bios.start * SECTOR, SECTOR);
    expect(Number(diskboot.readBigUInt64LE(0x1f4))).toBe(bios.start + 1);
    const rest = diskboot.readUInt16LE(0x1fc);
    expect(rest).toBeGreaterThan(0);
    expect(rest + 1).toBeLessThanOrEqual(bios.end - bios.start + 1);
    expect(diskboot.readUInt16LE(0x1fe)).toBe(0x820);
  });

  it("boots by UEFI: GRUB for x86-64 at the removable path of the EFI system partition", () => {
    const esp = `${raw}@@${partition("EF00").start * SECTOR}`;
    const env = { ...process.env, MTOOLS_SKIP_CHECK: "1" };
    const listing = execFileSync("mdir", ["-i", esp, "-b", "::/EFI/BOOT"], { encoding: "utf8", env });
    expect(listing).toMatch(/BOOTX64\.EFI/);
    const efi = execFileSync("mtype", ["-i", esp, "::/EFI/BOOT/BOOTX64.EFI"], { env, maxBuffer: 16 * 1024 * 1024 });
    expect(efi.subarray(0, 2).toString("latin1")).toBe("MZ");
    const pe = efi.readUInt32LE(0x3c);
    expect(efi.subarray(pe, pe + 4).toString("latin1")).toBe("PE\0\0");
    expect(efi.readUInt16LE(pe + 4)).toBe(0x8664); // machine: x86-64
  });

  it("mounts its root by UUID and boots GRUB's menu without waiting", () => {
    const uuid = /Filesystem UUID:\s+(\S+)/.exec(
      execFileSync("dumpe2fs", ["-h", rootFs], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }),
    )?.[1];
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(catFile("/etc/fstab")).toMatch(new RegExp(`^UUID=${uuid} / ext4 `, "m"));
    const grubCfg = catFile("/boot/grub/grub.cfg");
    expect(grubCfg).toContain(`root=UUID=${uuid}`);
    expect(grubCfg).toContain("console=ttyS0");
    if (image.manifest.tuning === "tuned") expect(grubCfg).toMatch(/^set timeout=0$/m);
  });

  it("has no identity of its own: no SSH host keys, an empty machine-id", () => {
    const ssh = debugfs("ls /etc/ssh");
    expect(ssh).toContain("sshd_config");
    expect(ssh).not.toMatch(/ssh_host_/);
    expect(debugfs("stat /etc/machine-id")).toMatch(/Size: 0\b/);
  });

  it("has the generic kernel with the 9p and virtio_console modules", () => {
    const modules = `/usr/lib/modules/${image.manifest.kernel}`;
    expect(image.manifest.kernel).toMatch(/^\d+\.\d+\.\d+-\d+-amd64$/);
    const dep = catFile(`${modules}/modules.dep`);
    for (const m of ["kernel/fs/9p/9p.ko", "kernel/net/9p/9pnet_virtio.ko", "kernel/drivers/char/virtio_console.ko"]) {
      expect(dep).toMatch(new RegExp(`^${m.replace(/\./g, "\\.")}:`, "m"));
      expect(debugfs(`stat ${modules}/${m}`)).toMatch(/Type: regular/);
    }
  });

  it("reads a NoCloud seed: cloud-init looks there (and only there when tuned)", () => {
    expect(debugfs("ls /etc/cloud/cloud.cfg.d")).toContain("90-driverplug.cfg");
    if (image.manifest.tuning === "tuned") {
      expect(catFile("/etc/cloud/cloud.cfg.d/95-driverplug-tuned.cfg")).toMatch(
        /^datasource_list: \[NoCloud, None\]$/m,
      );
    }
  });

  it("is found in the cache the second time, unchanged", () => {
    const before = statSync(image.path);
    const again = buildDebianImage({ ...process.env, DRIVERPLUG_DEBIAN_CACHE: image.cache }, [
      "--tuning",
      image.manifest.tuning,
    ]);
    expect(again.path).toBe(image.path);
    expect(again.stderr).toMatch(/up to date/);
    const after = statSync(image.path);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
  }, 300_000);
});
