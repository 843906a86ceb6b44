// How a libvirt daemon is started when none answers: as a normal user, the
// session daemon (`libvirtd --timeout=120`, exactly as libvirt's client
// does); as root, where qemu:///session means the privileged daemon, the same
// command inside a private mount namespace that fixes two traps of hosts
// without systemd or udev:
//  - /dev/kvm present but unusable by the QEMU user (0600 root): libvirt then
//    re-probes QEMU on every call (a define took 80 s). The namespace binds an
//    empty 0600 file over /dev/kvm, so libvirt sees no KVM and domains use TCG.
//  - QEMU's per-domain mount namespaces and virtlogd: a private qemu.conf
//    (bound over /etc/libvirt/qemu.conf in the namespace only) sets
//    `namespaces = []` and `stdio_handler = "file"`, so no other daemon is needed.
//  - libvirt's cgroups without systemd: libvirt puts every domain under its
//    own "machine" cgroup, whose CPU weight (cpu.shares 1024) is that of one
//    ordinary task, so on a busy host a whole VM got the CPU of one process
//    (its Start took 3.7x the qemu driver's at a load average of 27). The
//    private qemu.conf also sets `cgroup_controllers = []`: QEMU's threads then
//    compete like any process's, as under the qemu driver.
//  - A PID 1 that reaps orphans late (as in some containers and micro-VMs):
//    QEMU, daemonized by libvirt, is such an orphan, and libvirt waits for it
//    to vanish on every stop (destroy took 2 s where QEMU was gone in 70 ms).
//    The daemon runs under `tini -s` (a child subreaper) when it is installed.
// Nothing outside the namespace changes; the daemon's sockets and state are
// the usual ones, so virsh sees the same daemon.
import { constants, existsSync, promises as fs, statSync } from "node:fs";
import { join } from "node:path";

export const PRIVATE_QEMU_CONF = 'namespaces = []\nstdio_handler = "file"\ncgroup_controllers = []\n';

/** Does /dev/kvm exist without being usable by every user (libvirt's QEMU user included)? */
export function kvmNeedsMasking(device = "/dev/kvm"): boolean {
  try {
    const st = statSync(device);
    return (st.mode & 0o006) !== 0o006;
  } catch {
    return false;
  }
}

// $1: a file to bind over /dev/kvm, or empty; $2: the private qemu.conf, or
// empty; the rest: the daemon's argv, exec'd so its pid is the shell's.
/** tini, the subreaper daemons run under when it is installed (Debian: tini). */
export function subreaper(): string[] {
  for (const path of ["/usr/bin/tini", "/usr/local/bin/tini", "/sbin/tini"])
    if (existsSync(path)) return [path, "-s", "--"];
  return [];
}

const NAMESPACE_SCRIPT =
  'set -e; if [ -n "$1" ]; then mount --bind "$1" /dev/kvm; fi; ' +
  'if [ -n "$2" ]; then mount --bind "$2" /etc/libvirt/qemu.conf; fi; shift 2; exec "$@"';

export interface LaunchCommand {
  file: string;
  args: string[];
}

/**
 * The command that runs `daemonArgv` (libvirtd and its options) in a private
 * mount namespace with the fixes above. `dir` is a root-owned 0700 directory
 * for the two small files it binds.
 */
export async function privilegedLaunch(
  daemonArgv: string[],
  dir: string,
  options: { maskKvm?: boolean } = {},
): Promise<LaunchCommand> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const qemuConf = join(dir, "qemu.conf");
  await fs.writeFile(qemuConf, PRIVATE_QEMU_CONF, { mode: 0o600 });
  let noKvm = "";
  if (options.maskKvm ?? kvmNeedsMasking()) {
    noKvm = join(dir, "no-kvm");
    const fh = await fs.open(noKvm, constants.O_CREAT | constants.O_WRONLY, 0o600);
    await fh.close();
  }
  const hasQemuConf = existsSync("/etc/libvirt/qemu.conf");
  return {
    file: "unshare",
    args: [
      "--mount",
      "--propagation",
      "private",
      "--",
      "sh",
      "-c",
      NAMESPACE_SCRIPT,
      "sh",
      noKvm,
      hasQemuConf ? qemuConf : "",
      ...subreaper(),
      ...daemonArgv,
    ],
  };
}
