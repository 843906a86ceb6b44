// A full disk (or a used-up quota) is not a bug: the user can act on it. The
// CLI says so in one sentence, with what to do, whichever command hit it;
// every write it makes is atomic (src/fs/atomic-write.ts), so nothing half
// written was kept, and `rm` still works, to free space with.
import { Code } from "../protocol/status.js";
import type { ClientError } from "../host/client-error.js";

const CODES = new Set(["ENOSPC", "EDQUOT"]);

/** True for an error of the file system saying it has no room (ENOSPC) or the user's quota is used up (EDQUOT). */
export function isDiskFull(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && CODES.has((err as NodeJS.ErrnoException).code ?? "");
}

/** True for a driver's INTERNAL error whose message is a full disk's. */
export function driverDiskFull(err: ClientError): boolean {
  return err.code === Code.INTERNAL && /\b(ENOSPC|EDQUOT)\b|no space left on device|quota exceeded/i.test(err.details);
}

export const DISK_FULL_HINT =
  'the disk is full: free some space and try again ("driverplug rm <machine>" removes a stopped machine and its files, even on a full disk)';

/** The one sentence for a full disk the CLI itself hit. */
export function diskFullMessage(err: NodeJS.ErrnoException): string {
  const where = err.path !== undefined ? ` writing ${err.path}` : "";
  const what = err.code === "EDQUOT" ? "the disk quota is used up" : "no space is left on the disk";
  return `${what}${where} (${err.code}); nothing half-written was kept`;
}
