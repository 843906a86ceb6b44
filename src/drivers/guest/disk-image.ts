// Disk images: the base image a machine is made from (a bundle's disk or a
// user's --image) and the machine's own disk, a qcow2 overlay on it (copy on
// write: the base is never written) or an empty qcow2. A base image must stand
// alone: a backing file (a path or a `json:` name, which QEMU reads as
// options and may point anywhere) or an external data file would let the
// image put any file the user can read into the guest's disk. Only qcow2 and
// raw are taken. A layered disk is never made smaller than its base.
import { runTool } from "./host-tools.js";
import { FileRefusal, openRegularFile } from "./regular-file.js";

const GiB = 1024 ** 3;

export type ImageFormat = "qcow2" | "raw";

export interface BaseImage {
  /** The image's real path: what the overlay names as its backing file. */
  path: string;
  format: ImageFormat;
  virtualSize: number;
}

export class ImageRefusal extends Error {
  override name = "ImageRefusal";
}

interface QemuImgInfo {
  format?: unknown;
  "virtual-size"?: unknown;
  "backing-filename"?: unknown;
  "full-backing-filename"?: unknown;
  "format-specific"?: { data?: { "data-file"?: unknown } };
}

/** What qemu-img says of an image (its format probed), without opening any backing file. */
export async function imageInfo(path: string, signal?: AbortSignal): Promise<QemuImgInfo> {
  const { stdout } = await runTool("qemu-img", ["info", "--output=json", path], { signal, timeoutMs: 30_000 });
  return JSON.parse(stdout) as QemuImgInfo;
}

/**
 * Checks that `path` is a regular file holding a qcow2 or raw image with no
 * backing file and no external data file; `label` names it in refusals.
 */
export async function checkBaseImage(
  path: string,
  label: string,
  options: { insideDir?: string; signal?: AbortSignal } = {},
): Promise<BaseImage> {
  let realPath: string;
  try {
    const opened = await openRegularFile(path, { label, insideDir: options.insideDir });
    realPath = opened.realPath;
    await opened.handle.close();
  } catch (err) {
    if (err instanceof FileRefusal) throw new ImageRefusal(err.message);
    throw err;
  }
  let info: QemuImgInfo;
  try {
    info = await imageInfo(realPath, options.signal);
  } catch (err) {
    options.signal?.throwIfAborted();
    throw new ImageRefusal(`${label} cannot be read as a disk image: ${(err as Error).message}`);
  }
  const backing = info["full-backing-filename"] ?? info["backing-filename"];
  if (backing !== undefined)
    throw new ImageRefusal(
      `${label} has a backing file (${String(backing).slice(0, 200)}); give an image that stands alone (qemu-img convert -O qcow2 makes one)`,
    );
  if (info["format-specific"]?.data?.["data-file"] !== undefined)
    throw new ImageRefusal(
      `${label} keeps its data in another file (${String(info["format-specific"].data["data-file"]).slice(0, 200)}); give an image that stands alone (qemu-img convert -O qcow2 makes one)`,
    );
  if (info.format !== "qcow2" && info.format !== "raw")
    throw new ImageRefusal(
      `${label} is a ${String(info.format)} image; the driver takes qcow2 or raw (qemu-img convert -O qcow2 converts it)`,
    );
  const virtualSize = Number(info["virtual-size"]);
  if (!Number.isSafeInteger(virtualSize) || virtualSize <= 0)
    throw new ImageRefusal(`${label}: qemu-img reports no usable size`);
  return { path: realPath, format: info.format, virtualSize };
}

export async function makeDisk(
  path: string,
  sizeGiB: number,
  base: BaseImage | undefined,
  signal?: AbortSignal,
): Promise<{ sizeBytes: number }> {
  let size = sizeGiB * GiB;
  const args = ["create", "-q", "-f", "qcow2"];
  if (base !== undefined) {
    size = Math.max(size, base.virtualSize);
    args.push("-b", base.path, "-F", base.format);
  }
  await runTool("qemu-img", [...args, path, String(size)], { signal });
  return { sizeBytes: size };
}
