// What a qemu machine is made from: a bundle directory (direct kernel boot, or
// a base image booted by firmware) or a disk image given with --image (booted
// by firmware, configured by the cloud-init seed). Both are checked the same
// way before anything is made: files regular and bounded, really inside the
// bundle, images standing alone (no backing or data file). A refusal is a
// SourceError with a message that names the file and the fix.
import { basename } from "node:path";
import { BundleError, bundleLabel, loadBundle, type Bundle, type Readiness, type SshChannel } from "../guest/bundle.js";
import { checkBaseImage, ImageRefusal, type BaseImage } from "../guest/disk-image.js";
import type { QemuConfig } from "./config.js";

export class SourceError extends Error {
  override name = "SourceError";
}

interface SourceCommon {
  label: string;
  sshUser: string;
  readiness: Readiness;
  sshChannel?: SshChannel;
}

export type MachineSource =
  | (SourceCommon & { kind: "bundle"; bundle: Bundle; image?: BaseImage })
  | (SourceCommon & { kind: "image"; image: BaseImage });

export const NO_SOURCE =
  "no bundle or image given: pass --image <file> (a qcow2 or raw cloud image) or --bundle <dir> (a directory with a bundle.json, e.g. from `make guest`)";

export async function loadSource(config: QemuConfig, signal?: AbortSignal): Promise<MachineSource> {
  if (config.imagePath !== "") {
    let image: BaseImage;
    try {
      image = await checkBaseImage(config.imagePath, `image ${config.imagePath}`, { signal });
    } catch (err) {
      if (err instanceof ImageRefusal) throw new SourceError(err.message);
      throw err;
    }
    // The seed signals readiness and serves SSH on the dp.ssh port.
    return {
      kind: "image",
      label: imageLabel(config.imagePath),
      sshUser: config.sshUser,
      readiness: "virtio-serial",
      sshChannel: "virtio-serial",
      image,
    };
  }
  if (config.bundlePath === "") throw new SourceError(NO_SOURCE);
  let bundle: Bundle;
  try {
    bundle = await loadBundle(config.bundlePath, signal);
  } catch (err) {
    if (err instanceof BundleError) throw new SourceError(err.message);
    throw err;
  }
  return {
    kind: "bundle",
    bundle,
    label: bundleLabel(bundle.manifest),
    sshUser: bundle.manifest.sshUser,
    readiness: bundle.manifest.readiness,
    // A bundle's disk image gets the seed, which serves SSH on the port.
    sshChannel: bundle.disk && !bundle.kernelPath ? "virtio-serial" : bundle.manifest.sshChannel,
    image: bundle.disk,
  };
}

/** GetBundleName of an image machine: the image's file name, in the bundle-name alphabet. */
export function imageLabel(path: string): string {
  const name = basename(path)
    .replace(/[^A-Za-z0-9._+-]/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 128);
  return name === "" ? "image" : name;
}
