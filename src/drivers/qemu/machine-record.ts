// machine.json in the machine's directory: what Create learned from the bundle
// or image and Start needs later (how the guest boots, its SSH user, how it
// says it is ready, the SSH port QEMU forwards). Its presence is what "the
// machine exists" means. It holds no state: running or not is read from the
// system each time.
import type { SshChannel } from "../guest/bundle.js";
import type { ImageFormat } from "../guest/disk-image.js";
import type { Firmware } from "../guest/firmware.js";
import { readRecordFile, writeRecordFile, type RecordBasics } from "../guest/record-file.js";

export interface MachineRecord extends RecordBasics {
  /** Direct kernel boot: the bundle's command line (kernel and initrd were copied next to the disk). */
  kernelCmdline?: string;
  hasInitrd?: boolean;
  /** A disk image with a cloud-init seed (made anew at each Start). */
  hasSeed?: boolean;
  /** Firmware boot of a disk image (BIOS when absent). */
  firmware?: Firmware;
  /** The image the disk is layered on, as checked at Create; checked again before each Start. */
  baseImage?: { path: string; format: ImageFormat };
  /** The guest serves SSH on the dp.ssh port too (ssh.sock on the host, the owner's only). */
  sshChannel?: SshChannel;
  /** The seed's instance id: the same for the machine's whole life. */
  instanceId?: string;
  /**
   * The SSH port QEMU forwards, written before QEMU is launched with it: the
   * one source GetSSHInfo takes the port from.
   */
  sshPort?: number;
}

export function readRecord(path: string): Promise<MachineRecord> {
  return readRecordFile<MachineRecord>(path);
}

export function writeRecord(path: string, record: MachineRecord): Promise<void> {
  return writeRecordFile(path, record);
}
