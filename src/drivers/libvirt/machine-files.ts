// The local files of one libvirt machine: a 0700 directory under its store
// path with its record, SSH key and the known_hosts file that pins a remote
// hypervisor's host key. Disks and seeds are volumes in the machine's
// storage pool (for a user's own session daemon, a directory in here too).
import { promises as fs } from "node:fs";
import { join } from "node:path";
import type { Readiness } from "../guest/bundle.js";
import { ensurePrivateDir } from "../../socket/private-dir.js";

export const MACHINE_DIR_NAME = "lv";

export interface MachineRecord {
  name: string;
  /** The libvirt domain's name (also its storage pool's). */
  domain: string;
  /** The URI it was made on, canonical. */
  uri: string;
  /** The pool's directory on the hypervisor host. */
  poolPath: string;
  bundleName: string;
  sshUser: string;
  readiness: Readiness;
  /** Direct kernel boot: the command line with the machine's key. */
  kernelCmdline?: string;
  hasInitrd?: boolean;
  hasSeed?: boolean;
}

export class MachineFiles {
  readonly dir: string;
  constructor(readonly storePath: string) {
    this.dir = join(storePath, MACHINE_DIR_NAME);
  }
  get record(): string {
    return join(this.dir, "machine.json");
  }
  get key(): string {
    return join(this.dir, "id_ed25519");
  }
  get knownHosts(): string {
    return join(this.dir, "known_hosts");
  }
  get localPool(): string {
    return join(this.dir, "pool");
  }
  get seed(): string {
    return join(this.dir, "seed.iso");
  }

  async ensureDir(): Promise<void> {
    await ensurePrivateDir(this.dir);
  }

  async exists(): Promise<boolean> {
    return fs.lstat(this.record).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return false;
        throw err;
      },
    );
  }

  async readRecord(): Promise<MachineRecord> {
    const text = await fs.readFile(this.record, "utf8");
    let value: Partial<MachineRecord>;
    try {
      value = JSON.parse(text) as Partial<MachineRecord>;
    } catch {
      throw new Error(`machine record ${this.record} is damaged (not JSON); remove the machine and create it again`);
    }
    for (const field of ["name", "domain", "uri", "poolPath", "bundleName", "sshUser"] as const) {
      if (typeof value[field] !== "string")
        throw new Error(
          `machine record ${this.record} is damaged (no ${field}); remove the machine and create it again`,
        );
    }
    return value as MachineRecord;
  }

  async writeRecord(record: MachineRecord): Promise<void> {
    const temp = `${this.record}.${process.pid}.tmp`;
    await fs.writeFile(temp, JSON.stringify(record, null, 2), { mode: 0o600 });
    await fs.rename(temp, this.record);
  }

  async removeAll(): Promise<void> {
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}
