// The QEMU command line of a machine, built from its config and files alone
// (a pure function, unit-tested). Every socket and file lives in the machine's
// directory; values inside QEMU's comma-separated options have their commas
// doubled, QEMU's own escape, so a path can never inject an option.
import type { SharedDir } from "../../plugin/index.js";
import type { Accelerator } from "../guest/accelerator.js";
import type { MachineFiles } from "./machine-files.js";

export interface ArgvInput {
  machineName: string;
  files: MachineFiles;
  accel: Accelerator;
  cpus: number;
  memoryMiB: number;
  sshPort: number;
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

/** The guest kernel's command line: the bundle's own, plus the SSH key and host name for the guest's init. */
export function kernelCmdline(bundleCmdline: string, publicKeyLine: string, machineName: string): string {
  const key = Buffer.from(publicKeyLine.trim(), "utf8").toString("base64");
  return `${bundleCmdline.trim()} dp.authorized_key=${key} dp.hostname=${machineName}`.trim();
}

export function buildQemuArgv(input: ArgvInput): string[] {
  const { files } = input;
  const sock = (name: Parameters<MachineFiles["socket"]>[0]) => optValue(files.socket(name));
  const argv: string[] = [
    "-name",
    `guest=${optValue(input.machineName)}`,
    "-machine",
    "q35",
    // lima's TCG tuning: one host thread per vCPU and a 512 MiB translation cache.
    "-accel",
    input.accel === "kvm" ? "kvm" : "tcg,thread=multi,tb-size=512",
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
  if (input.kernel) {
    argv.push("-kernel", input.kernel.kernelPath);
    if (input.kernel.initrdPath) argv.push("-initrd", input.kernel.initrdPath);
    argv.push("-append", input.kernel.cmdline);
  }
  argv.push(
    // Serial console: a socket to attach to, and a log the driver reads boot progress from.
    "-chardev",
    `socket,id=ser0,path=${sock("serial")},server=on,wait=off,logfile=${optValue(files.path("serialLog"))}`,
    "-serial",
    "chardev:ser0",
    // Two monitors: QMP serves one client per socket, and the state watcher keeps one.
    "-chardev",
    `socket,id=qmp0,path=${sock("qmp")},server=on,wait=off`,
    "-mon",
    "chardev=qmp0,mode=control",
    "-chardev",
    `socket,id=qmp1,path=${sock("qmpWatch")},server=on,wait=off`,
    "-mon",
    "chardev=qmp1,mode=control",
    // User-mode networking: the guest reaches out; only its SSH is forwarded, on 127.0.0.1.
    "-netdev",
    `user,id=n0,hostfwd=tcp:127.0.0.1:${input.sshPort}-:22`,
    "-device",
    "virtio-net-pci,netdev=n0",
    "-drive",
    `file=${optValue(files.path("disk"))},if=none,id=d0,format=qcow2,discard=unmap`,
    "-device",
    "virtio-blk-pci,drive=d0",
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
  );
  input.sharedDirs.forEach((dir, i) => {
    const ro = dir.readOnly ? ",readonly=on" : "";
    argv.push("-virtfs", `local,path=${optValue(dir.source)},mount_tag=${dir.tag},security_model=none,id=fs${i}${ro}`);
  });
  // A guest reboot or panic ends QEMU: the machine is then stopped, never looping.
  argv.push("-no-reboot", "-pidfile", files.path("pidfile"));
  return argv;
}
