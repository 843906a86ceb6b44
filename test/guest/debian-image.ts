// The Debian cloud image for the tests that need a real distribution: the
// qcow2 in DRIVERPLUG_DEBIAN_IMAGE when CI has built it, otherwise the one
// `make guest-debian` builds (or finds in its cache). A missing image or tool
// is an error saying how to get it, never a skip.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const debianBuildScript = path.join(repoRoot, "scripts/guest-debian/build-image.sh");

/** image.json, the manifest next to the image. */
export interface DebianImageManifest {
  name: string;
  version: string;
  disk: string;
  format: string;
  virtualSizeGiB: number;
  arch: string;
  firmware: string[];
  sshUser: string;
  cloudInit: string;
  kernel: string;
  sharedDirs: string;
  tuning: string;
}

export interface DebianImage {
  /** Absolute path of the qcow2 image. */
  path: string;
  /** The directory holding it, image.json, bundle.json and packages.txt. */
  dir: string;
  /** The cache directory the build script was given (the image's grandparent). */
  cache: string;
  manifest: DebianImageManifest;
}

/** A cold build downloads about 140 MB of packages and installs them: minutes. */
export const DEBIAN_BUILD_TIMEOUT_MS = 40 * 60_000;

/** Runs the build script; its last line of standard output is the image's path, progress is on stderr. */
export function buildDebianImage(
  env: NodeJS.ProcessEnv = process.env,
  args: string[] = [],
): { path: string; stderr: string } {
  const result = spawnSync("bash", [debianBuildScript, ...args], {
    encoding: "utf8",
    env,
    stdio: ["ignore", "pipe", "pipe"],
    timeout: DEBIAN_BUILD_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error || result.status !== 0) {
    const why = result.error ? result.error.message : `exit status ${result.status}`;
    throw new Error(
      `building the Debian image failed (${why}; run 'make guest-debian' to see all): ${result.stderr.slice(-4000)}`,
    );
  }
  return { path: result.stdout.trim().split("\n").pop() ?? "", stderr: result.stderr };
}

let cached: DebianImage | undefined;

/** The Debian image, built on first use in a test process when CI did not name one. */
export function debianImage(): DebianImage {
  if (cached) return cached;
  const imagePath = process.env.DRIVERPLUG_DEBIAN_IMAGE || buildDebianImage().path;
  if (!existsSync(imagePath)) {
    throw new Error(
      `the Debian image ${imagePath} does not exist: unset DRIVERPLUG_DEBIAN_IMAGE or run 'make guest-debian'`,
    );
  }
  const dir = path.dirname(imagePath);
  const file = path.join(dir, "image.json");
  if (!existsSync(file)) throw new Error(`${dir} has no image.json: run 'make guest-debian'`);
  const manifest = JSON.parse(readFileSync(file, "utf8")) as DebianImageManifest;
  cached = { path: imagePath, dir, cache: path.dirname(dir), manifest };
  return cached;
}

/** Throws unless the tools that read the image without booting it are installed. */
export function requireImageTools(): void {
  for (const tool of ["qemu-img", "sgdisk", "debugfs", "dumpe2fs", "mdir", "mtype"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      throw new Error(`'${tool}' is not installed: run 'make setup' (or sh scripts/guest-debian/install-deps.sh)`);
    }
  }
}

/** The image file's SHA-256, to show a test never wrote it. */
export function fileSha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (c) => hash.update(c))
      .on("end", () => resolve(hash.digest("hex")))
      .on("error", reject);
  });
}
