// Test helper: `npm pack` the repository as a clean clone would be packed.
// The tracked files (and new, not ignored ones) are copied to a temp folder
// with no dist/, so `prepack` has to build everything itself; node_modules is
// linked, not installed. The repository's own dist/ is never touched, so tests
// running meanwhile keep their build.
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { REPO } from "../plugin/spawn-plugin.js";

const run = promisify(execFile);

export interface PackedFile {
  path: string;
  size: number;
  mode: number;
}

export interface PackedPackage {
  /** The temp folder holding the copy and the tarball; the caller removes it. */
  dir: string;
  tarball: string;
  /** Bytes of the .tgz and of its files unpacked. */
  size: number;
  unpackedSize: number;
  files: PackedFile[];
}

/** npm's view of the package (the --json answer). */
interface PackJson {
  filename: string;
  size: number;
  unpackedSize: number;
  files: PackedFile[];
}

export async function packRepository(): Promise<PackedPackage> {
  const dir = await mkdtemp(join(tmpdir(), "dp-pack-"));
  const copy = join(dir, "driverplug");
  const { stdout } = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: REPO,
    maxBuffer: 64 * 1024 * 1024,
  });
  for (const path of stdout.split("\0").filter((p) => p !== "")) {
    await mkdir(dirname(join(copy, path)), { recursive: true });
    // A file deleted in the work tree but still tracked is simply not copied.
    await copyFile(join(REPO, path), join(copy, path)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
  }
  await symlink(join(REPO, "node_modules"), join(copy, "node_modules"));
  // prepack's build prints to stdout too: the JSON is what follows it.
  const packed = await run("npm", ["pack", "--json", "--pack-destination", dir], {
    cwd: copy,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, npm_config_update_notifier: "false" },
  });
  const json = packed.stdout.slice(packed.stdout.lastIndexOf("\n[") + 1);
  const [info] = JSON.parse(json) as [PackJson];
  return {
    dir,
    tarball: join(dir, info.filename),
    size: info.size,
    unpackedSize: info.unpackedSize,
    files: info.files,
  };
}
