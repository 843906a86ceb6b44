// Runs `driverplug conformance` as a user would, in a sandbox whose TMPDIR
// (the kit's store dirs) and XDG_RUNTIME_DIR (the plugins' socket dirs) are
// its own, and tells what a run left behind: processes started for the
// sandbox, socket dirs and store dirs.
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Sandbox, type Result, type Running } from "../cli/driverplug-process.js";

export const FIXTURES = fileURLToPath(new URL("../fixtures/conformance/", import.meta.url));

export function brokenPlugin(defect: string): string {
  return join(FIXTURES, `driverplug-driver-broken-${defect}.mjs`);
}

export class KitSandbox {
  private constructor(
    readonly box: Sandbox,
    readonly tmp: string,
  ) {}

  static async create(): Promise<KitSandbox> {
    const box = await Sandbox.create();
    const tmp = join(box.root, "t");
    await mkdir(tmp, { mode: 0o700 });
    return new KitSandbox(box, tmp);
  }

  private env(): Record<string, string> {
    return { TMPDIR: this.tmp };
  }

  run(args: readonly string[]): Promise<Result> {
    return this.box.run(["conformance", ...args], this.env());
  }

  start(args: readonly string[]): Running {
    return this.box.start(["conformance", ...args], this.env());
  }

  /** Live processes whose environment points into this sandbox (plugins, stand-in hosts). */
  async processes(): Promise<string[]> {
    const out: string[] = [];
    for (const entry of await readdir("/proc")) {
      if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid) continue;
      const environ = await readFile(`/proc/${entry}/environ`, "latin1").catch(() => "");
      if (!environ.includes(this.box.root)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
      if (stat === "" || stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
      out.push(`${entry}: ${cmdline.split("\0").join(" ")}`);
    }
    return out;
  }

  /** Whatever is left in the kit's temp dir and the plugins' socket base dir. */
  async leftovers(): Promise<string[]> {
    const tmp = (await readdir(this.tmp)).map((e) => `TMPDIR/${e}`);
    const sockets = (await this.box.pluginDirs()).map((e) => `socket base/${e}`);
    return [...tmp, ...sockets];
  }

  dispose(): Promise<void> {
    return this.box.dispose();
  }
}

/** The kit's result lines, as [status, "category > check"]. */
export function resultLines(stdout: string): [string, string][] {
  const out: [string, string][] = [];
  for (const line of stdout.split("\n")) {
    const m = /^(PASS|FAIL|SKIP) {2}(.+?) {2}\(\d+ ms\)$/.exec(line);
    if (m) out.push([m[1]!, m[2]!]);
  }
  return out;
}
