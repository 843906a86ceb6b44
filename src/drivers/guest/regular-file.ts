// Opening a file a bundle or a user names, so that what is read is what was
// checked: never through a symbolic link (O_NOFOLLOW), never a device, FIFO
// or directory (O_NONBLOCK, so a FIFO cannot hold the open, then fstat), at
// most a given size, and, when it must lie inside a directory, checked by
// the real path of the open descriptor (/proc/self/fd), so a directory on the
// way that is a symlink cannot lead out. Callers read or copy through the
// returned handle, never by the path again.
import { constants, promises as fs, type Stats } from "node:fs";
import { realpath } from "node:fs/promises";
import { relative, isAbsolute, sep } from "node:path";

export class FileRefusal extends Error {
  override name = "FileRefusal";
}

export interface OpenedFile {
  handle: fs.FileHandle;
  /** The file's real path (what the descriptor refers to). */
  realPath: string;
  stats: Stats;
}

export interface OpenOptions {
  /** How the file is named in messages, e.g. `/b/bundle.json` or `the bundle's "kernel" file /b/vmlinuz`. */
  label: string;
  /** Refused when larger. */
  maxBytes?: number;
  /** The real path of a directory the file must lie inside. */
  insideDir?: string;
}

const MiB = 1024 * 1024;

export function sizeText(bytes: number): string {
  return bytes >= 1024 * MiB && bytes % (1024 * MiB) === 0
    ? `${bytes / (1024 * MiB)} GiB`
    : `${Math.round(bytes / MiB)} MiB`;
}

/** Opens `path` read-only as a checked regular file; the caller closes the handle. */
export async function openRegularFile(path: string, options: OpenOptions): Promise<OpenedFile> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ELOOP") throw new FileRefusal(`${options.label} is a symbolic link; give the file itself`);
    if (code === "ENOENT") throw new FileRefusal(`${options.label} does not exist`);
    throw new FileRefusal(`cannot open ${options.label}: ${(err as Error).message}`);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile())
      throw new FileRefusal(
        `${options.label} is not a regular file (${kind(stats)}); give a plain file (not a device, FIFO or directory)`,
      );
    if (options.maxBytes !== undefined && stats.size > options.maxBytes)
      throw new FileRefusal(`${options.label} is larger than ${sizeText(options.maxBytes)} (${stats.size} bytes)`);
    const realPath = await descriptorPath(handle, path);
    if (options.insideDir !== undefined && !isInside(options.insideDir, realPath))
      throw new FileRefusal(
        `${options.label} lies outside the bundle (it resolves to ${realPath}: a directory on its way is a symbolic link); bundle files must lie inside the bundle`,
      );
    return { handle, realPath, stats };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Reads a whole checked file as UTF-8 (the size was bounded at open). */
export async function readOpened(file: OpenedFile): Promise<string> {
  const buf = Buffer.alloc(file.stats.size);
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await file.handle.read(buf, off, buf.length - off, off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return buf.subarray(0, off).toString("utf8");
}

/** Copies a checked file to `dest` (created 0600, never over anything); at most the size seen at open. */
export async function copyOpened(file: OpenedFile, dest: string, signal?: AbortSignal): Promise<void> {
  const out = await fs.open(dest, "wx", 0o600);
  try {
    const buf = Buffer.alloc(MiB);
    let pos = 0;
    while (pos < file.stats.size) {
      signal?.throwIfAborted();
      const { bytesRead } = await file.handle.read(buf, 0, Math.min(buf.length, file.stats.size - pos), pos);
      if (bytesRead === 0) break;
      await out.write(buf, 0, bytesRead);
      pos += bytesRead;
    }
  } finally {
    await out.close();
  }
}

export function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** The real path of an open descriptor: Linux says it in /proc; elsewhere the path's real path. */
async function descriptorPath(handle: fs.FileHandle, path: string): Promise<string> {
  try {
    return await fs.readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    return realpath(path);
  }
}

function kind(st: Stats): string {
  if (st.isFIFO()) return "a FIFO";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isDirectory()) return "a directory";
  if (st.isSocket()) return "a socket";
  return "not a plain file";
}
