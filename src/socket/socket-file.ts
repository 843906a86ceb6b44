// Checks on a socket file: used by the plugin after it binds and by the host
// before it trusts the address in a handshake.
import { promises as fs } from "node:fs";

export class SocketFileError extends Error {
  override name = "SocketFileError";
}

export interface SocketFilePolicy {
  uid: number;
  /** Group mode: the socket may be group-accessible if its group is this gid. */
  gid?: number;
}

export async function checkSocketFile(path: string, policy: SocketFilePolicy): Promise<void> {
  const st = await fs.lstat(path).catch((err: NodeJS.ErrnoException) => {
    throw new SocketFileError(`socket ${path} does not exist (${err.code ?? err.message})`);
  });
  if (st.isSymbolicLink()) throw new SocketFileError(`socket ${path} is a symlink, not a socket`);
  if (!st.isSocket())
    throw new SocketFileError(
      `socket ${path} is not a socket (${st.isFile() ? "a regular file" : "another kind of file"})`,
    );
  if (st.uid !== policy.uid)
    throw new SocketFileError(`socket ${path} is owned by uid ${st.uid}, expected uid ${policy.uid}`);
  const mode = st.mode & 0o777;
  const allowed = policy.gid !== undefined && st.gid === policy.gid ? 0o660 : 0o600;
  if ((mode & ~allowed) !== 0) {
    throw new SocketFileError(
      `socket ${path} has mode 0${mode.toString(8)}, which lets other users connect; expected at most 0${allowed.toString(8)}`,
    );
  }
}
