// A cloud-init NoCloud seed for disk-image bundles: an ISO 9660 volume
// labelled "cidata" holding user-data (the SSH user and key, and a readiness
// line once boot is done) and meta-data (instance id, host name). Made with
// whichever of Debian's ISO tools is installed (genisoimage, mkisofs or
// xorriso); PreCreateCheck says which package to install when none is.
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { findExecutable, runTool } from "./host-tools.js";
import { READY_LINE } from "./readiness.js";

export interface SeedInput {
  machineName: string;
  sshUser: string;
  publicKey: string;
}

/** YAML double-quoted scalar (JSON strings are valid YAML). */
const q = (s: string) => JSON.stringify(s);

export function userData(input: SeedInput): string {
  const lines = ["#cloud-config", `hostname: ${q(input.machineName)}`, "ssh_pwauth: false"];
  if (input.sshUser === "root") {
    lines.push("disable_root: false", "users:", "  - name: root", `    ssh_authorized_keys: [${q(input.publicKey)}]`);
  } else {
    lines.push(
      "users:",
      `  - name: ${q(input.sshUser)}`,
      `    ssh_authorized_keys: [${q(input.publicKey)}]`,
      '    sudo: "ALL=(ALL) NOPASSWD:ALL"',
      "    shell: /bin/sh",
    );
  }
  // Once cloud-init's last stage runs, SSH is up: say so where the driver listens.
  const say = `echo ${READY_LINE} > /dev/virtio-ports/dp.ready; echo ${READY_LINE} > /dev/ttyS0`;
  lines.push("runcmd:", `  - [sh, -c, ${q(say)}]`);
  return `${lines.join("\n")}\n`;
}

export function metaData(input: SeedInput, instanceId = randomBytes(6).toString("hex")): string {
  return `instance-id: ${q(`driverplug-${input.machineName}-${instanceId}`)}\nlocal-hostname: ${q(input.machineName)}\n`;
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
  await fs.rm(staging, { recursive: true, force: true });
  await fs.mkdir(staging, { mode: 0o700 });
  try {
    await fs.writeFile(join(staging, "user-data"), userData(input), { mode: 0o600 });
    await fs.writeFile(join(staging, "meta-data"), metaData(input), { mode: 0o600 });
    await runTool(
      tool.path,
      [...tool.args, "-quiet", "-output", path, "-volid", "cidata", "-joliet", "-rock", "user-data", "meta-data"],
      { cwd: staging, signal },
    );
    await fs.chmod(path, 0o600);
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}
