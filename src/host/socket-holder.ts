// Ties a pid to a plugin's socket before the host signals it: the kernel's
// table of Unix sockets (/proc/net/unix) names the listening socket bound at
// the path (directly, or through /proc/self/fd/<dir fd>/<name> as driverplug
// plugins bind), and /proc/<pid>/fd shows whether that pid holds it. Then the
// process's start time (field 22 of /proc/<pid>/stat) identifies it later, so
// a pid reused after the plugin died is never signalled. Linux only: where
// /proc cannot tell, the answer is undefined and the caller signals nothing.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { basename, dirname } from "node:path";

interface ListeningSocket {
  inode: string;
  path: string;
}

function listeningUnixSockets(): Map<string, ListeningSocket> | undefined {
  let text: string;
  try {
    text = readFileSync("/proc/net/unix", "utf8");
  } catch {
    return undefined;
  }
  const out = new Map<string, ListeningSocket>();
  for (const line of text.split("\n").slice(1)) {
    // Num RefCount Protocol Flags Type St Inode [Path]; __SO_ACCEPTCON (0x10000) marks a listener.
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || (parseInt(f[3]!, 16) & 0x10000) === 0) continue;
    out.set(f[6]!, { inode: f[6]!, path: f.slice(7).join(" ") });
  }
  return out;
}

/** True if `pid` holds the listening socket bound at `socketPath`; undefined if /proc cannot tell. */
export function holdsListeningSocket(pid: number, socketPath: string): boolean | undefined {
  const sockets = listeningUnixSockets();
  if (!sockets) return undefined;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  const link = (fd: string) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return undefined;
    }
  };
  for (const fd of fds) {
    const inode = /^socket:\[([0-9]+)\]$/.exec(link(fd) ?? "")?.[1];
    const socket = inode === undefined ? undefined : sockets.get(inode);
    if (!socket) continue;
    if (socket.path === socketPath) return true;
    // Bound through the directory's fd: that fd of the same process must be the socket's directory.
    const viaFd = /^\/proc\/self\/fd\/([0-9]+)\/([^/]+)$/.exec(socket.path);
    if (viaFd && viaFd[2] === basename(socketPath) && link(viaFd[1]!) === dirname(socketPath)) return true;
  }
  return false;
}

/** The process's start time in clock ticks since boot, or undefined when it is gone or /proc cannot tell. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces and parentheses): state is field 3, starttime 22.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}
