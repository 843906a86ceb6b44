// The project's one way to replace a file: a reader (or a crash) sees either
// the old or the new content, never a mix, and nothing planted in the
// directory can redirect the write. The temp file has an unguessable name
// (128 random bits) and is created with O_CREAT|O_EXCL ("wx"), which fails on
// anything already there, a symlink included, instead of following it; it is
// fsync-ed, renamed over the target (rename replaces a symlink at the target,
// never writes through it), and the directory is fsync-ed so the rename is
// durable.
//
// Not write-file-atomic: its temp name is a hash of the file name, pid,
// thread id and a counter (guessable by anyone who can see the pid) and it
// opens the temp file with "w", which follows a symlink planted there.
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(16).toString("hex")}.tmp`);
  const file = await open(temp, "wx", mode);
  try {
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(dir);
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
