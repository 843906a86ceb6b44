// The files of one qemu machine: a single 0700 directory under the machine's
// store path holding its disk, SSH key, pidfile, logs and every socket (QMP,
// the event watcher's QMP, the console's QMP, readiness, SSH). The directory is
// checked as a plugin's socket directory is (owner, mode, no symlink, safe
// ancestors), and every socket path must fit a Unix socket address.
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { checkPrivateDir, ensurePrivateDir, type CheckedDir } from "../../socket/private-dir.js";
import { checkSocketFile } from "../../socket/socket-file.js";
import { effectiveUid } from "../../socket/private-dir.js";

/** The folder under the store path; short, since socket paths count every byte. */
export const MACHINE_DIR_NAME = "vm";

export const FILES = {
  record: "machine.json",
  disk: "disk.qcow2",
  key: "id_ed25519",
  publicKey: "id_ed25519.pub",
  knownHosts: "known_hosts",
  kernel: "vmlinuz",
  initrd: "initrd.img",
  seed: "seed.iso",
  efiVars: "efivars.fd",
  pidfile: "qemu.pid",
  qemuLog: "qemu.log",
  serialLog: "serial.log",
} as const;

export const SOCKETS = {
  qmp: "qmp.sock",
  /** A second monitor: QMP serves one client per socket, and the state watcher holds its connection. */
  qmpWatch: "qmp-watch.sock",
  /** A third monitor, which Start's boot watch holds to drain the console's ring buffer. */
  console: "qmp-con.sock",
  ready: "ready.sock",
  /** The guest's SSH server over the dp.ssh virtio-serial port: only the owner can open it. */
  ssh: "ssh.sock",
} as const;

/**
 * sun_path is 108 bytes with its terminating NUL on Linux: QEMU refuses
 * longer paths, and Node would silently truncate them.
 */
export const QEMU_SOCKET_PATH_MAX_BYTES = 107;

const LONGEST_SOCKET = Object.values(SOCKETS).reduce((a, b) => (Buffer.byteLength(b) > Buffer.byteLength(a) ? b : a));

/** Create builds a machine in `vm.creating-<pid>-<random>` and renames it to `vm` once complete. */
const STAGING_PREFIX = `${MACHINE_DIR_NAME}.creating-`;

export class MachineFiles {
  readonly dir: string;
  constructor(
    readonly storePath: string,
    dir?: string,
  ) {
    this.dir = dir ?? join(storePath, MACHINE_DIR_NAME);
  }

  /** A fresh private directory (0700, checked) for Create to build the machine in. */
  async makeStaging(): Promise<MachineFiles> {
    const dir = await fs.mkdtemp(join(this.storePath, `${STAGING_PREFIX}${process.pid}-`));
    await checkPrivateDir(dir);
    return new MachineFiles(this.storePath, dir);
  }

  /**
   * Makes a complete staging directory the machine's: renamed to `vm` in one
   * step, so the machine exists whole or not at all. False when `vm` exists.
   */
  async commit(staging: MachineFiles): Promise<boolean> {
    try {
      await fs.rename(staging.dir, this.dir);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOTEMPTY" || code === "EEXIST") return false;
      throw err;
    }
  }

  /**
   * What interrupted Creates left: staging directories whose Create's process
   * is gone, and a machine directory without a record (made by an older
   * driver, which built in place) in which no QEMU runs. Removes them and
   * returns their paths.
   */
  async removeLeftovers(alive: (pid: number) => boolean, vmRuns: () => Promise<boolean>): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await fs.readdir(this.storePath).catch(() => [] as string[])) {
      if (!name.startsWith(STAGING_PREFIX)) continue;
      const pid = Number(/^(\d+)-/.exec(name.slice(STAGING_PREFIX.length))?.[1]);
      if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) continue;
      if (pid === process.pid) continue;
      await fs.rm(join(this.storePath, name), { recursive: true, force: true });
      removed.push(join(this.storePath, name));
    }
    const st = await fs.lstat(this.dir).catch(() => undefined);
    if (st?.isDirectory() && !(await this.exists()) && !(await vmRuns())) {
      await this.removeAll();
      removed.push(this.dir);
    }
    return removed;
  }

  path(file: keyof typeof FILES): string {
    return join(this.dir, FILES[file]);
  }

  socket(name: keyof typeof SOCKETS): string {
    return join(this.dir, SOCKETS[name]);
  }

  /** Creates the directory 0700 if missing, and checks it (and its ancestors) like a socket directory. */
  async ensureDir(): Promise<CheckedDir> {
    return ensurePrivateDir(this.dir);
  }

  async checkDir(): Promise<CheckedDir> {
    return checkPrivateDir(this.dir);
  }

  async exists(): Promise<boolean> {
    try {
      await fs.lstat(this.path("record"));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
  }

  /** Every socket is a socket, ours, and 0600: else the VM is refused (the caller kills it). */
  async verifySockets(names: ReadonlyArray<keyof typeof SOCKETS>): Promise<void> {
    for (const name of names) await checkSocketFile(this.socket(name), { uid: effectiveUid() });
  }

  /** Removes what a dead VM left behind: pidfile and sockets (the disk, key and logs stay). */
  async removeRuntimeFiles(): Promise<string[]> {
    const removed: string[] = [];
    for (const path of [
      this.path("pidfile"),
      ...Object.keys(SOCKETS).map((s) => this.socket(s as keyof typeof SOCKETS)),
    ]) {
      try {
        await fs.unlink(path);
        removed.push(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
    }
    return removed;
  }

  async removeAll(): Promise<void> {
    await fs.rm(this.dir, { recursive: true, force: true });
  }

  /** The machine's directory and every staging directory (Remove: nothing of the machine stays). */
  async removeEverything(): Promise<void> {
    for (const name of await fs.readdir(this.storePath).catch(() => [] as string[]))
      if (name.startsWith(STAGING_PREFIX)) await fs.rm(join(this.storePath, name), { recursive: true, force: true });
    await this.removeAll();
  }
}

/**
 * Why a store path cannot hold a qemu machine, or undefined when it can: the
 * longest socket path must fit, with the fix in the message.
 */
export function socketPathProblem(storePath: string): string | undefined {
  const longest = join(storePath, MACHINE_DIR_NAME, LONGEST_SOCKET);
  const bytes = Buffer.byteLength(longest);
  if (bytes <= QEMU_SOCKET_PATH_MAX_BYTES) return undefined;
  const room = QEMU_SOCKET_PATH_MAX_BYTES - (bytes - Buffer.byteLength(storePath));
  return (
    `the machine's sockets would have paths of up to ${bytes} bytes (${longest}), over the ${QEMU_SOCKET_PATH_MAX_BYTES}-byte ` +
    `limit of Unix socket addresses; use a store path of at most ${room} bytes (for example set DRIVERPLUG_STORE to a shorter directory)`
  );
}
