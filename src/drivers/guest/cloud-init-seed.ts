// The cloud-init NoCloud seed of a disk-image machine: an ISO 9660 volume
// labelled "cidata" with user-data, meta-data and driverplug-boot.sh.
//
// cloud-init applies user-data once per instance (the instance id stays the
// same for a machine's whole life): the user with the machine's key and sudo,
// the host name, no password logins, and the guest SSH server's limits on
// connections that have not logged in yet. Its bootcmd runs on every boot: it
// mounts the seed and runs driverplug-boot.sh from it, which the driver writes
// anew at each Start, so what can change between boots (the shared
// directories) is always current. That script waits, in the background so the
// boot never waits on it, until cloud-init's last stage is done, mounts the
// shares at their targets (9p), and once the SSH server listens serves SSH on
// the dp.ssh virtio-serial port too (ssh-relay-script.ts: sshd -i per session;
// the host end is a socket only the machine's owner can open) and writes the
// readiness line to the dp.ready port and the console.
// A port's write waits for the host to connect, so the readiness write runs
// apart with a time limit: nothing blocks when nobody listens.
//
// Made with whichever of Debian's ISO tools is installed (genisoimage,
// mkisofs or xorriso); PreCreateCheck says which package to install when none is.
import { promises as fs } from "node:fs";
import { join } from "node:path";
import type { SharedDir } from "../../plugin/index.js";
import { findExecutable, runTool } from "./host-tools.js";
import { READY_LINE } from "./readiness.js";
import { SSH_RELAY_SCRIPT, SSH_RELAY_SOURCE } from "./ssh-relay-script.js";

export interface SeedInput {
  machineName: string;
  sshUser: string;
  publicKey: string;
  /** Stable for the machine's life: a new one would make cloud-init set the guest up again (new host keys). */
  instanceId: string;
  sharedDirs: readonly SharedDir[];
}

/** The script's name on the seed; bootcmd runs it on every boot. */
export const BOOT_SCRIPT = "driverplug-boot.sh";

/** Where bootcmd mounts the seed in the guest. */
const SEED_MOUNT = "/run/driverplug/seed";

/**
 * The guest SSH server's limits on connections that have not logged in:
 * every forwarded connection comes from one address (QEMU's user network), so
 * OpenSSH's default of 10 such connections (then dropping new ones) let
 * another local user's idle connections lock the owner out. Here up to 100 are
 * taken before any is dropped, and each gets 15 s to log in.
 */
export const SSHD_LIMITS = { loginGraceSeconds: 15, maxStartups: "100:30:400" } as const;

/** YAML double-quoted scalar (JSON strings are valid YAML). */
const q = (s: string) => JSON.stringify(s);

export function userData(input: Pick<SeedInput, "machineName" | "sshUser" | "publicKey">): string {
  const lines = [
    "#cloud-config",
    `hostname: ${q(input.machineName)}`,
    // The host name resolves without DNS (an isolated guest has none): sudo and others ask for it.
    "manage_etc_hosts: true",
    "ssh_pwauth: false",
  ];
  if (input.sshUser === "root") {
    lines.push("disable_root: false", "users:", "  - name: root", `    ssh_authorized_keys: [${q(input.publicKey)}]`);
  } else {
    lines.push(
      "users:",
      `  - name: ${q(input.sshUser)}`,
      `    ssh_authorized_keys: [${q(input.publicKey)}]`,
      '    sudo: "ALL=(ALL) NOPASSWD:ALL"',
      "    shell: /bin/bash",
      "    lock_passwd: true",
    );
  }
  lines.push(
    "write_files:",
    "  - path: /etc/ssh/sshd_config.d/50-driverplug.conf",
    '    permissions: "0644"',
    "    content: |",
    `      LoginGraceTime ${SSHD_LIMITS.loginGraceSeconds}`,
    `      MaxStartups ${SSHD_LIMITS.maxStartups}`,
    // Every boot (bootcmd), from the seed of this Start.
    "bootcmd:",
    `  - [sh, -c, ${q(mountAndRun)}]`,
  );
  return `${lines.join("\n")}\n`;
}

const mountAndRun = [
  `d=${SEED_MOUNT}`,
  'mkdir -p "$d"',
  'mountpoint -q "$d" || mount -o ro "$(blkid -l -o device -t LABEL=cidata)" "$d" || mount -o ro "$(blkid -l -o device -t LABEL=CIDATA)" "$d"',
  `[ ! -r "$d/${BOOT_SCRIPT}" ] || sh "$d/${BOOT_SCRIPT}"`,
].join("; ");

/** Single-quoted for sh. */
const sq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** The script bootcmd runs on every boot: shares, then readiness, in the background. */
export function bootScript(input: Pick<SeedInput, "sharedDirs">): string {
  const mounts = input.sharedDirs.map((dir) => {
    const options = `trans=virtio,version=9p2000.L,msize=524288${dir.readOnly ? ",ro" : ""}`;
    return [
      `  mkdir -p ${sq(dir.target)}`,
      `  mountpoint -q ${sq(dir.target)} || mount -t 9p -o ${options} ${sq(dir.tag)} ${sq(dir.target)} ||`,
      `    say "could not mount shared directory ${dir.tag} at ${dir.target.replace(/[^A-Za-z0-9/._-]/g, "?")}"`,
    ].join("\n");
  });
  return `#!/bin/sh
# Written by driverplug for this Start; run by cloud-init's bootcmd on every boot.
say() { echo "driverplug: $*" >/dev/console 2>/dev/null; }
(
  # cloud-init's last stage writes result.json (/run is new on every boot): users and host name are set.
  n=0
  until [ -e /run/cloud-init/result.json ] || [ "$n" -ge 3600 ]; do sleep 1; n=$((n + 1)); done
${mounts.join("\n")}
  # The SSH server listens on port 22 (0x0016).
  n=0
  until grep -qE '^ *[0-9]+: [0-9A-F]+:0016 [0-9A-F]+:0000 0A' /proc/net/tcp /proc/net/tcp6 2>/dev/null || [ "$n" -ge 600 ]; do
    sleep 0.5; n=$((n + 1))
  done
  # SSH for the machine's owner over dp.ssh (sshd -i per session, run by the seed's relay).
  if [ -e /dev/virtio-ports/dp.ssh ] && [ -x /usr/sbin/sshd ] && command -v python3 >/dev/null; then
    python3 ${SEED_MOUNT}/${SSH_RELAY_SCRIPT} &
  else
    say "no SSH over dp.ssh (it needs python3 and /usr/sbin/sshd)"
  fi
  say "${READY_LINE}"
  [ ! -e /dev/ttyS0 ] || echo "${READY_LINE}" >/dev/ttyS0 2>/dev/null
  # Blocks until the host end is connected: apart, and given up after an hour.
  [ ! -e /dev/virtio-ports/dp.ready ] || timeout 3600 sh -c 'echo ${READY_LINE} >/dev/virtio-ports/dp.ready' 2>/dev/null
) </dev/null >/dev/null 2>&1 &
exit 0
`;
}

export function metaData(input: Pick<SeedInput, "machineName" | "instanceId">): string {
  return `instance-id: ${q(`driverplug-${input.machineName}-${input.instanceId}`)}\nlocal-hostname: ${q(input.machineName)}\n`;
}

/** The ISO maker and its leading arguments, or undefined when none is installed. */
export async function findIsoTool(): Promise<{ path: string; args: string[] } | undefined> {
  for (const name of ["genisoimage", "mkisofs", "xorrisofs"]) {
    const path = await findExecutable(name);
    if (path) return { path, args: [] };
  }
  const xorriso = await findExecutable("xorriso");
  return xorriso ? { path: xorriso, args: ["-as", "mkisofs"] } : undefined;
}

export const ISO_TOOL_HINT = "install genisoimage (apt-get install genisoimage) or xorriso to make cloud-init seeds";

/** Writes the seed image; its staging files live in a private folder next to it and are removed. */
export async function makeSeed(path: string, input: SeedInput, signal?: AbortSignal): Promise<void> {
  const tool = await findIsoTool();
  if (!tool) throw new Error(`no ISO 9660 tool found: ${ISO_TOOL_HINT}`);
  const staging = `${path}.d`;
  const temp = `${path}.new`;
  await fs.rm(staging, { recursive: true, force: true });
  await fs.rm(temp, { force: true });
  await fs.mkdir(staging, { mode: 0o700 });
  try {
    await fs.writeFile(join(staging, "user-data"), userData(input), { mode: 0o600, flag: "wx" });
    await fs.writeFile(join(staging, "meta-data"), metaData(input), { mode: 0o600, flag: "wx" });
    await fs.writeFile(join(staging, BOOT_SCRIPT), bootScript(input), { mode: 0o600, flag: "wx" });
    await fs.writeFile(join(staging, SSH_RELAY_SCRIPT), SSH_RELAY_SOURCE, { mode: 0o600, flag: "wx" });
    await runTool(
      tool.path,
      [
        ...tool.args,
        ...["-quiet", "-output", temp, "-volid", "cidata", "-joliet", "-rock"],
        ...["user-data", "meta-data", BOOT_SCRIPT, SSH_RELAY_SCRIPT],
      ],
      { cwd: staging, signal },
    );
    await fs.chmod(temp, 0o600);
    // Replaced whole: a seed is never half-written when QEMU opens it.
    await fs.rename(temp, path);
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
    await fs.rm(temp, { force: true });
  }
}
