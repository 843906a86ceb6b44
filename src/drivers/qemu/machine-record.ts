// machine.json in the machine's directory: what Create learned from the bundle
// and Start needs later (how the guest boots, its SSH user, how it says it is
// ready). Its presence is what "the machine exists" means. It holds no state:
// running or not is read from the system each time.
import { promises as fs } from "node:fs";
import type { Readiness } from "../guest/bundle.js";

export interface MachineRecord {
  name: string;
  bundleName: string;
  sshUser: string;
  readiness: Readiness;
  /** Direct kernel boot: the bundle's command line (kernel and initrd were copied next to the disk). */
  kernelCmdline?: string;
  hasInitrd?: boolean;
  /** Disk-image bundles: the seed image is attached. */
  hasSeed?: boolean;
  /**
   * The SSH port last used, also kept here: a host may load a config saved
   * before Start had to move the port (or one with port 0, "pick one").
   */
  sshPort?: number;
}

export async function readRecord(path: string): Promise<MachineRecord> {
  const text = await fs.readFile(path, "utf8");
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
  const temp = `${path}.${process.pid}.tmp`;
  await fs.writeFile(temp, JSON.stringify(record, null, 2), { mode: 0o600 });
  await fs.rename(temp, path);
}
