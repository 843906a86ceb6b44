// machine.json in the machine's directory: what Create learned from the bundle
// or image and Start needs later (how the guest boots, its SSH user, how it
// says it is ready, the SSH port QEMU forwards). Its presence is what "the
// machine exists" means. It holds no state: running or not is read from the
// system each time.
import { constants, promises as fs } from "node:fs";
import { writeFileAtomic } from "../../fs/atomic-write.js";
import type { Readiness, SshChannel } from "../guest/bundle.js";
import type { ImageFormat } from "../guest/disk-image.js";

import type { Firmware } from "../guest/firmware.js";

export interface MachineRecord {
  name: string;
  bundleName: string;
  sshUser: string;
  readiness: Readiness;
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

const MAX_RECORD_BYTES = 64 * 1024;

export async function readRecord(path: string): Promise<MachineRecord> {
  const handle = await fs.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  let text: string;
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size > MAX_RECORD_BYTES)
      throw new Error(
        `machine record ${path} is damaged (not a small regular file); remove the machine and create it again`,
      );
    text = await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
  let value: Partial<MachineRecord>;
  try {
    value = JSON.parse(text) as Partial<MachineRecord>;
  } catch {
    throw new Error(`machine record ${path} is damaged (not JSON); remove the machine and create it again`);
  }
  if (typeof value.name !== "string" || typeof value.sshUser !== "string" || typeof value.bundleName !== "string")
    throw new Error(`machine record ${path} is damaged (fields missing); remove the machine and create it again`);
  if (value.readiness !== "ssh" && value.readiness !== "virtio-serial")
    throw new Error(`machine record ${path} has an unknown readiness; remove the machine and create it again`);
  return value as MachineRecord;
}

export async function writeRecord(path: string, record: MachineRecord): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(record, null, 2), 0o600);
}
