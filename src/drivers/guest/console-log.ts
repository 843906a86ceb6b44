// A guest's console on the host's disk, bounded: a log file that is rotated
// (to <file>.1, replacing the one before) once it passes its cap, so a chatty
// guest costs at most twice the cap however long it runs. Written by whoever
// drains the console (the qemu driver from QEMU's ring buffer; a backend that
// streams its console), opened without following a symlink. Reading for an
// error message takes only the tail.
import { constants, promises as fs } from "node:fs";

/** 2 MiB: tens of thousands of boot lines, and all a failure's message needs. */
export const CONSOLE_LOG_CAP_BYTES = 2 * 1024 * 1024;

export class BoundedLog {
  private handle: fs.FileHandle | undefined;
  private size = 0;

  constructor(
    readonly path: string,
    private readonly capBytes = CONSOLE_LOG_CAP_BYTES,
  ) {}

  /** Starts the log afresh (the previous Start's output moves to <file>.1). */
  async open(): Promise<void> {
    await this.close();
    await fs.rename(this.path, `${this.path}.1`).catch(() => undefined);
    this.handle = await fs.open(
      this.path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | constants.O_APPEND,
      0o600,
    );
    this.size = 0;
  }

  async append(chunk: Buffer): Promise<void> {
    if (!this.handle || chunk.length === 0) return;
    if (this.size + chunk.length > this.capBytes) {
      await this.open();
      chunk = chunk.subarray(Math.max(0, chunk.length - this.capBytes));
    }
    await this.handle!.write(chunk);
    this.size += chunk.length;
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.close();
  }
}

/** The last `bytes` of a file (and of its rotated predecessor when the file is shorter), as latin1 text. */
export async function readTail(path: string, bytes = 64 * 1024): Promise<string> {
  const own = await tailOf(path, bytes);
  if (own.length >= bytes) return own;
  return (await tailOf(`${path}.1`, bytes - own.length)) + own;
}

async function tailOf(path: string, bytes: number): Promise<string> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return "";
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return "";
    const length = Math.min(bytes, st.size);
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, st.size - length);
    return buf.subarray(0, bytesRead).toString("latin1");
  } finally {
    await handle.close();
  }
}
