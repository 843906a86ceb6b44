// A bundle: the directory a machine (qemu or libvirt) is made from. Its bundle.json names
// the kernel, initrd and kernel command line (a direct-kernel guest), or a
// qcow2 base image (a disk-image guest, booted by its own bootloader and given
// its SSH key by a cloud-init NoCloud seed), plus the SSH user and how the
// guest says it is ready. Paths are relative to the bundle directory and may
// not leave it. Bundle text is input: every refusal says what is wrong.
import { promises as fs } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";

export type Readiness = "virtio-serial" | "ssh";

export interface BundleManifest {
  name: string;
  version: string;
  kernel?: string;
  initrd?: string;
  cmdline: string;
  sshUser: string;
  readiness: Readiness;
  /** A qcow2 base image the machine's disk is layered on (a backing file). */
  disk?: string;
}

export interface Bundle {
  dir: string;
  manifest: BundleManifest;
  /** Absolute paths of the files named in the manifest. */
  kernelPath?: string;
  initrdPath?: string;
  diskPath?: string;
}

export class BundleError extends Error {
  override name = "BundleError";
}

export const BUNDLE_MANIFEST = "bundle.json";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;
const KNOWN_FIELDS = new Set(["name", "version", "kernel", "initrd", "cmdline", "sshUser", "readiness", "disk"]);

/** "name-version", what GetBundleName answers. */
export function bundleLabel(manifest: BundleManifest): string {
  return `${manifest.name}-${manifest.version}`;
}

export function parseManifest(text: string, where: string): BundleManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BundleError(`${where} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new BundleError(`${where} must hold a JSON object`);
  const m = value as Record<string, unknown>;
  for (const key of Object.keys(m)) {
    if (!KNOWN_FIELDS.has(key))
      throw new BundleError(`${where}: unknown field "${key}"; a bundle has ${[...KNOWN_FIELDS].join(", ")}`);
  }
  const str = (field: string, required: boolean): string | undefined => {
    const v = m[field];
    if (v === undefined && !required) return undefined;
    if (typeof v !== "string" || v === "")
      throw new BundleError(`${where}: field "${field}" must be a non-empty string`);
    return v;
  };
  const name = str("name", true)!;
  const version = str("version", true)!;
  for (const [field, v] of [
    ["name", name],
    ["version", version],
  ] as const) {
    if (!NAME.test(v))
      throw new BundleError(
        `${where}: field "${field}" is ${JSON.stringify(v)}; use letters, digits, '.', '_', '+', '-'`,
      );
  }
  const kernel = str("kernel", false);
  const initrd = str("initrd", false);
  const disk = str("disk", false);
  if (kernel === undefined && disk === undefined)
    throw new BundleError(
      `${where}: give "kernel" (with "initrd") for a direct-kernel guest, or "disk" for a disk image`,
    );
  if (initrd !== undefined && kernel === undefined) throw new BundleError(`${where}: "initrd" needs a "kernel"`);
  const cmdline = m.cmdline === undefined ? "console=ttyS0" : m.cmdline;
  if (typeof cmdline !== "string" || /[\n\r\0]/.test(cmdline))
    throw new BundleError(`${where}: field "cmdline" must be a one-line string`);
  const sshUser = str("sshUser", false) ?? "root";
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(sshUser))
    throw new BundleError(`${where}: field "sshUser" is ${JSON.stringify(sshUser)}, which is not a user name`);
  const readiness = m.readiness === undefined ? "ssh" : m.readiness;
  if (readiness !== "virtio-serial" && readiness !== "ssh")
    throw new BundleError(
      `${where}: field "readiness" must be "virtio-serial" or "ssh", got ${JSON.stringify(readiness)}`,
    );
  return { name, version, kernel, initrd, cmdline, sshUser, readiness, disk };
}

/** Reads and checks a bundle directory: manifest valid, every file it names present inside it. */
export async function loadBundle(dirGiven: string): Promise<Bundle> {
  const dir = resolve(dirGiven);
  const manifestPath = join(dir, BUNDLE_MANIFEST);
  let text: string;
  try {
    text = await fs.readFile(manifestPath, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BundleError(
      code === "ENOENT"
        ? `bundle ${dir} has no ${BUNDLE_MANIFEST}; give the directory that \`make guest\` printed (or one with a ${BUNDLE_MANIFEST})`
        : `cannot read ${manifestPath}: ${(err as Error).message}`,
    );
  }
  const manifest = parseManifest(text, manifestPath);
  const file = async (field: "kernel" | "initrd" | "disk"): Promise<string | undefined> => {
    const name = manifest[field];
    if (name === undefined) return undefined;
    const path = resolve(dir, name);
    const rel = relative(dir, path);
    if (isAbsolute(name) || rel === "" || rel.startsWith(`..${sep}`) || rel === "..")
      throw new BundleError(
        `${manifestPath}: "${field}" must name a file inside the bundle, got ${JSON.stringify(name)}`,
      );
    const st = await fs.stat(path).catch(() => undefined);
    if (!st?.isFile())
      throw new BundleError(`${manifestPath}: "${field}" names ${path}, which is not a file; is the bundle complete?`);
    return path;
  };
  return {
    dir,
    manifest,
    kernelPath: await file("kernel"),
    initrdPath: await file("initrd"),
    diskPath: await file("disk"),
  };
}
