// The local files of one libvirt machine: a 0700 directory under its store
// path with its record, SSH key and the known_hosts file that pins a remote
// hypervisor's host key. Disks and seeds are volumes in the machine's
// storage pool (for a user's own session daemon, a directory in here too).
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { readRecordFile, writeRecordFile, type RecordBasics } from "../guest/record-file.js";
import { ensurePrivateDir } from "../../socket/private-dir.js";

export const MACHINE_DIR_NAME = "lv";

export interface MachineRecord extends RecordBasics {
  /** The libvirt domain's name (also its storage pool's). */
  domain: string;
  /** The URI it was made on, canonical. */
  uri: string;
  /** The pool's directory on the hypervisor host. */
  poolPath: string;
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

  readRecord(): Promise<MachineRecord> {
    return readRecordFile<MachineRecord>(this.record, ["domain", "uri", "poolPath"]);
  }

  writeRecord(record: MachineRecord): Promise<void> {
    return writeRecordFile(this.record, record);
  }

  async removeAll(): Promise<void> {
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}
