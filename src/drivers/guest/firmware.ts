// The firmware a disk image boots with. Published cloud images (Debian
// genericcloud, Ubuntu cloudimg, Fedora Cloud) boot both ways: GRUB's boot
// code in the MBR for BIOS, and an EFI system partition for UEFI. BIOS
// (SeaBIOS, QEMU's default) is the quicker under TCG, so "auto" takes it
// whenever the image's first sector holds boot code, and UEFI (OVMF, Debian
// package ovmf) otherwise. A UEFI machine gets its own copy of OVMF's variable
// store (its boot entries), made at Create.
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { runTool } from "./host-tools.js";
import type { BaseImage } from "./disk-image.js";

export type Firmware = "bios" | "uefi";
export type FirmwareChoice = Firmware | "auto";

export interface Ovmf {
  /** The firmware code, read-only. */
  code: string;
  /** The pristine variable store each machine copies. */
  vars: string;
}

/** Debian's ovmf (4 MiB builds first; the 2 MiB ones of older releases after). No secure boot: it needs SMM. */
const OVMF_PAIRS: readonly Ovmf[] = [
  { code: "/usr/share/OVMF/OVMF_CODE_4M.fd", vars: "/usr/share/OVMF/OVMF_VARS_4M.fd" },
  { code: "/usr/share/OVMF/OVMF_CODE.fd", vars: "/usr/share/OVMF/OVMF_VARS.fd" },
];

export const OVMF_HINT = "UEFI needs OVMF: install Debian's ovmf package (apt-get install ovmf)";

export async function findOvmf(): Promise<Ovmf | undefined> {
  for (const pair of OVMF_PAIRS) {
    const ok = await Promise.all([fs.stat(pair.code), fs.stat(pair.vars)]).then(
      ([a, b]) => a.isFile() && b.isFile(),
      () => false,
    );
    if (ok) return pair;
  }
  return undefined;
}

/** True when a first sector holds boot code (not all zeros before the partition table) and the 0x55AA mark. */
export function hasBootCode(sector: Buffer): boolean {
  if (sector.length < 512 || sector[510] !== 0x55 || sector[511] !== 0xaa) return false;
  return sector.subarray(0, 440).some((b) => b !== 0);
}

/** The image's first sector, read through qemu-img (which understands qcow2) into a scratch file in `scratchDir`. */
export async function firstSector(image: BaseImage, scratchDir: string, signal?: AbortSignal): Promise<Buffer> {
  const out = join(scratchDir, `.mbr-${process.pid}-${Date.now()}`);
  try {
    await runTool(
      "qemu-img",
      ["dd", "-f", image.format, "-O", "raw", "bs=512", "count=1", `if=${image.path}`, `of=${out}`],
      { signal, timeoutMs: 30_000 },
    );
    return await fs.readFile(out);
  } finally {
    await fs.rm(out, { force: true });
  }
}

/** The firmware to boot `image` with, and why (for progress). */
export async function chooseFirmware(
  choice: FirmwareChoice,
  image: BaseImage,
  scratchDir: string,
  signal?: AbortSignal,
): Promise<{ firmware: Firmware; why: string }> {
  if (choice !== "auto") return { firmware: choice, why: "as configured" };
  if (hasBootCode(await firstSector(image, scratchDir, signal)))
    return { firmware: "bios", why: "the image has boot code in its MBR" };
  return { firmware: "uefi", why: "the image has no MBR boot code" };
}
