// Where a guest's boot is, told from its console lines: firmware (SeaBIOS,
// OVMF, the boot loader), kernel, systemd, cloud-init. Phases only move
// forward: a late kernel message during systemd's start does not go back.
// Booting by firmware starts at "firmware", a direct kernel boot at "kernel".
export type BootPhase = "firmware" | "kernel" | "systemd" | "cloud-init";

export const BOOT_PHASES: readonly BootPhase[] = ["firmware", "kernel", "systemd", "cloud-init"];

/** Each phase's first progress percent (ready is 80, SSH 85-95). */
export const PHASE_PERCENT: Readonly<Record<BootPhase, number>> = {
  firmware: 25,
  kernel: 35,
  systemd: 50,
  "cloud-init": 60,
};

export const PHASE_TITLE: Readonly<Record<BootPhase, string>> = {
  firmware: "Firmware and boot loader",
  kernel: "Kernel",
  systemd: "systemd",
  "cloud-init": "cloud-init",
};

const SIGNS: ReadonlyArray<[BootPhase, RegExp]> = [
  ["cloud-init", /cloud-init\[\d+\]|Cloud-init v\. \d/],
  ["systemd", /systemd\[1\]|Welcome to (?!GRUB).+!|\[\s*OK\s*\]|Reached target |Started .+\.(service|target)/],
  [
    "kernel",
    /Linux version \d|^\[\s*\d+\.\d{6}\]|Decompressing Linux|EFI stub|Loading Linux |Run \/init as init process/,
  ],
  ["firmware", /SeaBIOS|iPXE|Booting from |BdsDxe|GRUB|UEFI/],
];

/** The phase a console line shows, or undefined when it shows none. */
export function phaseOf(line: string): BootPhase | undefined {
  for (const [phase, sign] of SIGNS) if (sign.test(line)) return phase;
  return undefined;
}

/** The later of two phases. */
export function later(a: BootPhase, b: BootPhase): BootPhase {
  return BOOT_PHASES.indexOf(b) > BOOT_PHASES.indexOf(a) ? b : a;
}
