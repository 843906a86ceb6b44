// The QEMU command line of a machine, built from its config and files alone
// (a pure function, unit-tested). Every socket and file lives in the machine's
// directory; values inside QEMU's comma-separated options have their commas
// doubled, QEMU's own escape, so a path can never inject an option.
import type { SharedDir } from "../../plugin/index.js";
import { tcgCacheMiB, type Accelerator } from "../guest/accelerator.js";
import type { Ovmf } from "../guest/firmware.js";
import type { GuestNetwork } from "./config.js";
import type { MachineFiles } from "./machine-files.js";
import { CONSOLE_CHARDEV, RINGBUF_BYTES } from "./ringbuf-console.js";

export interface ArgvInput {
  machineName: string;
  files: MachineFiles;
  accel: Accelerator;
  cpus: number;
  memoryMiB: number;
  sshPort: number;
  network: GuestNetwork;
  /** UEFI boot: OVMF's code (the machine's variable store is its efiVars file). BIOS (SeaBIOS) when absent. */
  uefi?: Ovmf;
  /** Direct kernel boot: the kernel, initrd and command line (with the driver's dp.* additions). */
  kernel?: { kernelPath: string; initrdPath?: string; cmdline: string };
  /** A cloud-init NoCloud seed image attached read-only (disk-image bundles). */
  seedPath?: string;
  sharedDirs: readonly SharedDir[];
}

/** QEMU's escape for a value inside "a=b,c=d" options. */
export function optValue(value: string): string {
  return value.replaceAll(",", ",,");
}

export function buildQemuArgv(input: ArgvInput): string[] {
  const { files } = input;
  const sock = (name: Parameters<MachineFiles["socket"]>[0]) => optValue(files.socket(name));
  const argv: string[] = [
    "-name",
    `guest=${optValue(input.machineName)}`,
    "-machine",
    "q35",
    // TCG: one host thread per vCPU, and a translation cache sized to the guest.
    "-accel",
    input.accel === "kvm" ? "kvm" : `tcg,thread=multi,tb-size=${tcgCacheMiB(input.memoryMiB)}`,
    "-cpu",
    input.accel === "kvm" ? "host" : "max",
    "-smp",
    String(input.cpus),
    "-m",
    String(input.memoryMiB),
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
  ];
  if (input.uefi) {
    argv.push(
      "-drive",
      `if=pflash,format=raw,unit=0,readonly=on,file=${optValue(input.uefi.code)}`,
      "-drive",
      `if=pflash,format=raw,unit=1,file=${optValue(files.path("efiVars"))}`,
    );
  }
  if (input.kernel) {
    argv.push("-kernel", input.kernel.kernelPath);
    if (input.kernel.initrdPath) argv.push("-initrd", input.kernel.initrdPath);
    argv.push("-append", input.kernel.cmdline);
  }
  argv.push(
    // Serial console: a ring buffer of fixed size in QEMU; Start drains it through the console monitor.
    "-chardev",
    `ringbuf,id=${CONSOLE_CHARDEV},size=${RINGBUF_BYTES}`,
    "-serial",
    `chardev:${CONSOLE_CHARDEV}`,
    // Three monitors: QMP serves one client per socket; the state watcher and the console drain keep one each.
    "-chardev",
    `socket,id=qmp0,path=${sock("qmp")},server=on,wait=off`,
    "-mon",
    "chardev=qmp0,mode=control",
    "-chardev",
    `socket,id=qmp1,path=${sock("qmpWatch")},server=on,wait=off`,
    "-mon",
    "chardev=qmp1,mode=control",
    "-chardev",
    `socket,id=qmp2,path=${sock("console")},server=on,wait=off`,
    "-mon",
    "chardev=qmp2,mode=control",
    // User-mode networking, its SSH forwarded from 127.0.0.1. Isolated (restrict=on): the guest reaches
    // nothing outside itself, not the host's loopback (10.0.2.2) nor the internet; the forward still works.
    "-netdev",
    `user,id=n0${input.network === "isolated" ? ",restrict=on" : ""},hostfwd=tcp:127.0.0.1:${input.sshPort}-:22`,
    "-device",
    "virtio-net-pci,netdev=n0",
    "-drive",
    `file=${optValue(files.path("disk"))},if=none,id=d0,format=qcow2,discard=unmap`,
    "-device",
    // Firmware boots this disk first (a direct kernel boot's loader takes boot index 0 itself).
    input.kernel ? "virtio-blk-pci,drive=d0" : "virtio-blk-pci,drive=d0,bootindex=0",
  );
  if (input.seedPath) {
    argv.push(
      "-drive",
      `file=${optValue(input.seedPath)},if=none,id=seed,format=raw,readonly=on`,
      "-device",
      "virtio-blk-pci,drive=seed",
    );
  }
  argv.push(
    // The guest's readiness line arrives on a virtio-serial port named dp.ready.
    "-device",
    "virtio-serial-pci",
    "-chardev",
    `socket,id=rdy,path=${sock("ready")},server=on,wait=off`,
    "-device",
    "virtserialport,chardev=rdy,name=dp.ready",
    // SSH for the owner only: a guest that serves SSH on dp.ssh is reached through this 0600 socket.
    "-chardev",
    `socket,id=sshc,path=${sock("ssh")},server=on,wait=off`,
    "-device",
    "virtserialport,chardev=sshc,name=dp.ssh",
  );
  input.sharedDirs.forEach((dir, i) => {
    const ro = dir.readOnly ? ",readonly=on" : "";
    argv.push("-virtfs", `local,path=${optValue(dir.source)},mount_tag=${dir.tag},security_model=none,id=fs${i}${ro}`);
  });
  // A guest reboot or panic ends QEMU: the machine is then stopped, never looping.
  argv.push("-no-reboot", "-pidfile", files.path("pidfile"));
  return argv;
}
