// The qemu test guest bundle for the VM tests: the directory in
// DRIVERPLUG_TEST_GUEST when CI has built it, otherwise the one `make guest`
// builds (or finds in its cache), so `make test` works without CI's set-up.
// A missing qemu, ssh or bundle is an error saying how to get it, never a skip.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const buildScript = path.join(repoRoot, "scripts/guest/build-guest.sh");

export interface TestGuest {
  /** The bundle directory. */
  dir: string;
  name: string;
  version: string;
  /** Absolute paths of the kernel and the initramfs. */
  kernel: string;
  initrd: string;
  cmdline: string;
  sshUser: string;
  readiness: string;
}

let cached: TestGuest | undefined;

/** The test guest bundle, built on first use in a test process when CI did not name one. */
export function testGuest(): TestGuest {
  if (cached) return cached;
  let dir = process.env.DRIVERPLUG_TEST_GUEST;
  if (!dir) {
    let out: string;
    try {
      out = execFileSync("bash", [buildScript], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        timeout: 10 * 60_000,
      });
    } catch (err) {
      throw new Error(`building the test guest failed (run 'make guest' to see why): ${(err as Error).message}`, {
        cause: err,
      });
    }
    dir = out.trim().split("\n").pop() ?? "";
  }
  const file = path.join(dir, "bundle.json");
  if (!existsSync(file)) {
    throw new Error(`the test guest ${dir} has no bundle.json: unset DRIVERPLUG_TEST_GUEST or run 'make guest'`);
  }
  const json = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  const field = (name: string): string => {
    const v = json[name];
    if (typeof v !== "string" || v === "") throw new Error(`${file}: "${name}" must be a non-empty string`);
    return v;
  };
  const guest: TestGuest = {
    dir,
    name: field("name"),
    version: field("version"),
    kernel: path.join(dir, field("kernel")),
    initrd: path.join(dir, field("initrd")),
    cmdline: field("cmdline"),
    sshUser: field("sshUser"),
    readiness: field("readiness"),
  };
  for (const f of [guest.kernel, guest.initrd]) {
    if (!existsSync(f)) throw new Error(`the test guest names ${f}, which does not exist: run 'make guest'`);
  }
  cached = guest;
  return guest;
}

/** Throws unless qemu, qemu-img and ssh are installed (`make setup` installs them). */
export function requireVmTools(): void {
  for (const tool of ["qemu-system-x86_64", "qemu-img", "ssh", "ssh-keygen"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      throw new Error(`'${tool}' is not installed: run 'make setup' (or sh scripts/install-qemu-deps.sh)`);
    }
  }
}
