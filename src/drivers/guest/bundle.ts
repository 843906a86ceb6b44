// A bundle: the directory a machine (qemu or libvirt) is made from. Its bundle.json names
// the kernel, initrd and kernel command line (a direct-kernel guest), or a
// base image (a disk-image guest, booted by firmware and its own bootloader
// and given its SSH key by a cloud-init NoCloud seed), plus the SSH user and
// how the guest says it is ready. Paths are relative to the bundle directory
// and may not leave it, not even through a symlink. A bundle is input, maybe
// hostile: its files are opened so that a symlink, a device or a FIFO is
// refused, sizes are bounded, and every refusal says what is wrong.
import { realpath } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { checkBaseImage, ImageRefusal, type BaseImage } from "./disk-image.js";
import { copyOpened, FileRefusal, isInside, openRegularFile, readOpened, type OpenedFile } from "./regular-file.js";

export type Readiness = "virtio-serial" | "ssh";

export interface BundleManifest {
  name: string;
  version: string;
  kernel?: string;
  initrd?: string;
  cmdline: string;
  sshUser: string;
  readiness: Readiness;
  /** A qcow2 or raw base image the machine's disk is layered on (a backing file). */
  disk?: string;
  /**
   * "virtio-serial": the guest also serves SSH on the virtio-serial port named
   * dp.ssh (an SSH server in inetd mode per connection), which the host exposes
   * as a socket only the machine's owner can open. Absent: SSH over TCP only.
   */
  sshChannel?: SshChannel;
}

export type SshChannel = "virtio-serial";

export interface Bundle {
  dir: string;
  manifest: BundleManifest;
  /** Real paths of the kernel and initrd named in the manifest (as checked; copy them with copyBundleFile). */
  kernelPath?: string;
  initrdPath?: string;
  /** The base image, checked to stand alone. */
  disk?: BaseImage;
}

export class BundleError extends Error {
  override name = "BundleError";
}

export const BUNDLE_MANIFEST = "bundle.json";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;
const KNOWN_FIELDS = new Set([
  "name",
  "version",
  "kernel",
  "initrd",
  "cmdline",
  "sshUser",
  "readiness",
  "disk",
  "sshChannel",
]);

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
  const sshChannel = m.sshChannel;
  if (sshChannel !== undefined && sshChannel !== "virtio-serial")
    throw new BundleError(
      `${where}: field "sshChannel" must be "virtio-serial" (or left out), got ${JSON.stringify(sshChannel)}`,
    );
  return { name, version, kernel, initrd, cmdline, sshUser, readiness, disk, sshChannel };
}

/** Bounds on what a bundle may hold: bundle.json is read into memory, the kernel and initrd are copied. */
export const BUNDLE_LIMITS = {
  manifestBytes: 1024 * 1024,
  kernelBytes: 512 * 1024 * 1024,
  initrdBytes: 1024 * 1024 * 1024,
} as const;

type FileField = "kernel" | "initrd";

/** Opens a kernel or initrd the manifest names: a regular file really inside the bundle, bounded. */
export function openBundleFile(bundle: Bundle, field: FileField): Promise<OpenedFile> {
  const name = bundle.manifest[field];
  if (name === undefined) throw new BundleError(`the bundle has no "${field}"`);
  const path = join(bundle.dir, name);
  return openRegularFile(path, {
    label: `the bundle's "${field}" file ${path}`,
    insideDir: bundle.dir,
    maxBytes: field === "kernel" ? BUNDLE_LIMITS.kernelBytes : BUNDLE_LIMITS.initrdBytes,
  });
}

/** Copies a kernel or initrd out of the bundle through the checked descriptor. */
export async function copyBundleFile(bundle: Bundle, field: FileField, dest: string, signal?: AbortSignal) {
  const file = await openBundleFile(bundle, field).catch(asBundleError);
  try {
    await copyOpened(file, dest, signal);
  } finally {
    await file.handle.close();
  }
}

/**
 * Reads and checks a bundle directory: the manifest valid, every file it names
 * a regular file really inside it (no symlink, device or FIFO; bounded sizes),
 * the base image standing alone (no backing or data file).
 */
export async function loadBundle(dirGiven: string, signal?: AbortSignal): Promise<Bundle> {
  let dir: string;
  try {
    dir = await realpath(resolve(dirGiven));
  } catch (err) {
    throw new BundleError(
      (err as NodeJS.ErrnoException).code === "ENOENT"
        ? `bundle ${resolve(dirGiven)} does not exist; give the directory that \`make guest\` printed`
        : `cannot open bundle ${resolve(dirGiven)}: ${(err as Error).message}`,
    );
  }
  const manifestPath = join(dir, BUNDLE_MANIFEST);
  let text: string;
  try {
    const file = await openRegularFile(manifestPath, { label: manifestPath, maxBytes: BUNDLE_LIMITS.manifestBytes });
    try {
      text = await readOpened(file);
    } finally {
      await file.handle.close();
    }
  } catch (err) {
    if (err instanceof FileRefusal && /does not exist$/.test(err.message))
      throw new BundleError(
        `bundle ${dir} has no ${BUNDLE_MANIFEST}; give the directory that \`make guest\` printed (or one with a ${BUNDLE_MANIFEST})`,
      );
    throw asBundleError(err);
  }
  const manifest = parseManifest(text, manifestPath);
  for (const field of ["kernel", "initrd", "disk"] as const) {
    const name = manifest[field];
    if (name !== undefined && (isAbsolute(name) || !isInside(dir, resolve(dir, name))))
      throw new BundleError(
        `${manifestPath}: "${field}" must name a file inside the bundle, got ${JSON.stringify(name)}`,
      );
  }
  const bundle: Bundle = { dir, manifest };
  for (const field of ["kernel", "initrd"] as const) {
    if (manifest[field] === undefined) continue;
    const file = await openBundleFile(bundle, field).catch(asBundleError);
    await file.handle.close();
    bundle[field === "kernel" ? "kernelPath" : "initrdPath"] = file.realPath;
  }
  if (manifest.disk !== undefined) {
    const path = join(dir, manifest.disk);
    try {
      bundle.disk = await checkBaseImage(path, `the bundle's "disk" image ${path}`, { insideDir: dir, signal });
    } catch (err) {
      throw asBundleError(err);
    }
  }
  return bundle;
}

function asBundleError(err: unknown): never {
  if (err instanceof FileRefusal && /does not exist$/.test(err.message))
    throw new BundleError(`${err.message}; is the bundle complete?`);
  if (err instanceof FileRefusal || err instanceof ImageRefusal) throw new BundleError(err.message);
  throw err;
}
