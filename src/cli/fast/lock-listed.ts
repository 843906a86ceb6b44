// Whether another process holds a machine's lock, read from the kernel's
// list of locks (/proc/locks) instead of by trying the lock as
// isMachineLocked() does: loading the lock addon (fs-native-extensions,
// through require-addon's resolution) costs the fast status path more than
// the rest of its checks together. The lock is an exclusive lock on the
// lock file (flock or open-file-description, both listed), so a WRITE entry
// on that file's device and inode means a command is changing the machine.
import { readFile, stat } from "node:fs/promises";

/**
 * True when a write lock on `path` is listed, false when none is (or the
 * file does not exist: nobody ever locked it), undefined when the list
 * cannot be read or understood (then ask isMachineLocked()).
 */
export async function writeLockListed(path: string): Promise<boolean | undefined> {
  let st;
  try {
    st = await stat(path, { bigint: true });
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT" ? false : undefined;
  }
  let text: string;
  try {
    text = await readFile("/proc/locks", "latin1");
  } catch {
    return undefined;
  }
  // glibc's dev_t: the kernel prints its major and minor in hex.
  const major = ((st.dev >> 8n) & 0xfffn) | ((st.dev >> 32n) & ~0xfffn);
  const minor = (st.dev & 0xffn) | ((st.dev >> 12n) & ~0xffn);
  const file = `${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}:${st.ino}`;
  for (const line of text.split("\n")) {
    // "1: FLOCK  ADVISORY  WRITE 1234 08:01:131090 0 EOF"; a waiter's line has "->" after the number.
    const fields = line.trim().split(/\s+/);
    if (fields.length < 6 || fields[1] === "->") continue;
    if (fields[3] === "WRITE" && fields[5] === file) return true;
  }
  return false;
}
