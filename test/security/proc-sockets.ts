// What the kernel says a process listens on: its socket inodes from
// /proc/<pid>/fd, matched against /proc/net/{tcp,tcp6,udp,udp6} (any
// internet socket) and /proc/net/unix (paths; abstract names start with "@").
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { basename } from "node:path";

export function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const m = /^socket:\[([0-9]+)\]$/.exec(target);
    if (m) out.add(m[1]!);
  }
  return out;
}

/** Inodes of every internet socket on the machine (column 10 of /proc/net/tcp and friends). */
export function internetSocketInodes(): Set<string> {
  const out = new Set<string>();
  for (const table of ["tcp", "tcp6", "udp", "udp6"]) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${table}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const inode = line.trim().split(/\s+/)[9];
      if (inode && inode !== "0") out.add(inode);
    }
  }
  return out;
}

export interface UnixSocketEntry {
  inode: string;
  listening: boolean;
  /** "" for unnamed sockets; "@..." for abstract ones. */
  path: string;
}

/** /proc/net/unix: Num RefCount Protocol Flags Type St Inode [Path]. */
export function unixSockets(): Map<string, UnixSocketEntry> {
  const out = new Map<string, UnixSocketEntry>();
  for (const line of readFileSync("/proc/net/unix", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 7) continue;
    // __SO_ACCEPTCON (0x10000) in Flags marks a listening socket.
    const listening = (parseInt(f[3]!, 16) & 0x10000) !== 0;
    out.set(f[6]!, { inode: f[6]!, listening, path: f.slice(7).join(" ") });
  }
  return out;
}

/** The fd under which `pid` holds its listening socket for `path` (bound by that path or through /proc/self/fd/<dir>/<name>). */
export function listeningFd(pid: number, path: string): number | undefined {
  const unix = unixSockets();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const inode = /^socket:\[([0-9]+)\]$/.exec(target)?.[1];
    const entry = inode ? unix.get(inode) : undefined;
    if (entry?.listening && (entry.path === path || entry.path.endsWith(`/${basename(path)}`))) return Number(fd);
  }
  return undefined;
}
