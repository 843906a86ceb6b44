// The machine's disk: a qcow2 file made by qemu-img, empty or layered on the
// bundle's base image as its backing file (copy-on-write: the base is never
// written). A layered disk is never made smaller than its base.
import { runTool } from "./host-tools.js";

const GiB = 1024 ** 3;

export async function makeDisk(
  path: string,
  sizeGiB: number,
  base: string | undefined,
  signal?: AbortSignal,
): Promise<{ sizeBytes: number }> {
  let size = sizeGiB * GiB;
  const args = ["create", "-q", "-f", "qcow2"];
  if (base !== undefined) {
    const { stdout } = await runTool("qemu-img", ["info", "--output=json", "-f", "qcow2", base], { signal });
    const virtualSize = Number((JSON.parse(stdout) as { "virtual-size"?: unknown })["virtual-size"]);
    if (Number.isFinite(virtualSize)) size = Math.max(size, virtualSize);
    args.push("-b", base, "-F", "qcow2");
  }
  await runTool("qemu-img", [...args, path, String(size)], { signal });
  return { sizeBytes: size };
}
