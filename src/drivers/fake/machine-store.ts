// Where the fake machine lives on disk: a small JSON record under the
// config's storePath, written atomically (fs/atomic-write.ts) so the machine
// survives plugin restarts and a crash never leaves half a record.
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../fs/atomic-write.js";
import { invalidArgument } from "../../plugin/index.js";

/** The states a machine rests in; starting and stopping exist only while an operation runs. */
export type RestingState = "stopped" | "running";

export interface MachineRecord {
  name: string;
  state: RestingState;
}

const RECORD_FILE = "fake-machine.json";
export const KEY_FILE = "id_ed25519";
export const DISK_FILE = "disk.json";

export class MachineStore {
  /** Record writes in call order: Kill's "stopped" must not be overtaken by a Start's earlier "running". */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(readonly storePath: string) {}

  get recordPath(): string {
    return join(this.storePath, RECORD_FILE);
  }

  async read(): Promise<MachineRecord | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.recordPath, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    const value = JSON.parse(text) as Partial<MachineRecord>;
    if (typeof value.name !== "string" || (value.state !== "stopped" && value.state !== "running")) {
      throw invalidArgument(`machine record ${this.recordPath} is damaged; remove the machine and create it again`);
    }
    return { name: value.name, state: value.state };
  }

  write(record: MachineRecord): Promise<void> {
    const done = this.writes.then(async () => {
      await this.ensureDir();
      await writeFileAtomic(this.recordPath, JSON.stringify(record));
    });
    this.writes = done.catch(() => undefined);
    return done;
  }

  /** A file the machine owns (key, disk), written atomically with mode 0600. */
  async writeOwned(name: string, content: string): Promise<void> {
    await this.ensureDir();
    await writeFileAtomic(join(this.storePath, name), content);
  }

  /** Deletes the record and every file the machine owns; missing files are fine. */
  async removeAll(): Promise<void> {
    for (const name of [RECORD_FILE, KEY_FILE, DISK_FILE]) {
      await fs.rm(join(this.storePath, name), { force: true });
    }
  }

  /** Deletes the files a half-done Create made (never the record of an existing machine). */
  async removeOwned(): Promise<void> {
    for (const name of [KEY_FILE, DISK_FILE]) {
      await fs.rm(join(this.storePath, name), { force: true });
    }
  }

  private async ensureDir(): Promise<void> {
    await fs.mkdir(this.storePath, { recursive: true, mode: 0o700 });
  }
}
