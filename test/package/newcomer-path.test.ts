// The newcomer's path, as the README tells it: install the packed package into
// a fresh project, scaffold a driver with the installed `driverplug
// new-driver`, build, test and bundle it, then drive a machine with it through
// the installed `driverplug` and through a host script that imports only the
// package. Registry packages come from npm's cache when it has them
// (--prefer-offline); the package itself is the tarball of this checkout.
import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packRepository, type PackedPackage } from "./packed-package.js";

const exec = promisify(execFile);

let pkg: PackedPackage;
let project: string;
let driver: string;
let store: string;

/** The environment of a user's shell: no npm_* variables from a runner that npm started. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false", ...extra };
}

async function sh(cwd: string, file: string, args: string[], extra: Record<string, string> = {}) {
  try {
    return await exec(file, args, { cwd, env: userEnv(extra), maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(" ")} failed in ${cwd}: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`, {
      cause: err,
    });
  }
}

/** Runs the driverplug that the project installed, with a private store and the bundled mini plugin. */
function driverplug(args: string[]) {
  return exec(join(project, "node_modules", ".bin", "driverplug"), args, {
    cwd: project,
    env: userEnv({ DRIVERPLUG_STORE: store, DRIVERPLUG_PLUGIN_DIRS: join(driver, "dist", "bundle") }),
  });
}

async function failing(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await driverplug(args);
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
  throw new Error(`driverplug ${args.join(" ")} succeeded; it should have failed`);
}

beforeAll(async () => {
  pkg = await packRepository();
  project = join(pkg.dir, "newcomer");
  store = join(pkg.dir, "store");
  driver = join(project, "driverplug-driver-mini");
  await mkdir(project);
  await writeFile(join(project, "package.json"), JSON.stringify({ name: "newcomer", private: true, type: "module" }));
  await sh(project, "npm", ["install", "--prefer-offline", pkg.tarball]);
}, 600_000);

afterAll(async () => {
  if (pkg) await rm(pkg.dir, { recursive: true, force: true });
});

describe("the newcomer's path", () => {
  it("driverplug bundle without esbuild says how to install it", async () => {
    await writeFile(join(project, "entry.ts"), "export {};\n");
    const r = await failing(["bundle", "entry.ts", "out/driverplug-driver-x"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^driverplug: bundle: esbuild is not installed: .*`npm install --save-dev --save-exact esbuild@\d+\.\d+\.\d+`/,
    );
    expect(r.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|\n\s+at /);
    expect(r.stderr.split("\n").filter((l) => l !== "")).toHaveLength(1);
  });

  it("new-driver refuses a bad name as a usage error", async () => {
    const r = await failing(["new-driver", "Mini Driver"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^driverplug: invalid driver name "Mini Driver": use 1 to 32 lowercase letters/);
  });

  it("new-driver, with no flags, writes a project that installs driverplug from where it came, builds, passes its own tests and bundles", async () => {
    // The driverplug dependency is the tarball this project installed it from, not a registry range that does not exist.
    const made = await driverplug(["new-driver", "mini"]);
    expect(made.stdout).toContain("Wrote the mini driver project in driverplug-driver-mini.");
    expect((await readdir(driver)).sort()).toEqual([
      ".gitignore",
      "README.md",
      "bin",
      "package.json",
      "src",
      "test",
      "tsconfig.json",
    ]);
    expect((await stat(join(driver, "bin", "driverplug-driver-mini"))).mode & 0o111).toBe(0o111);
    const manifest = JSON.parse(await readFile(join(driver, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(manifest.dependencies).toEqual({ driverplug: `file:${relative(driver, pkg.tarball)}` });
    expect(Object.keys(manifest.devDependencies).sort()).toEqual(["@types/node", "esbuild", "typescript"]);
    await sh(driver, "npm", ["install", "--prefer-offline"]);
    await sh(driver, "npm", ["run", "build"]);
    const tested = await sh(driver, "npm", ["test"]);
    expect(tested.stdout).toMatch(/^# pass 3$/m);
    expect(tested.stdout).toMatch(/^# fail 0$/m);
    await sh(driver, "npm", ["run", "bundle"]);
    expect((await readdir(join(driver, "dist", "bundle"))).sort()).toEqual([
      "driverplug-driver-mini",
      "driverplug-driver-mini.bundle.cjs",
      "driverplug-driver-mini.bundle.cjs.map",
      "driverplug-driver-mini.bundle.cjs.v8cache",
      "driverplug-driver-mini.cjs",
    ]);
  }, 600_000);

  it("new-driver says at once what to pass when npm kept no record of where driverplug came from", async () => {
    // As a global install leaves it: no lockfile names the package's origin.
    const locks = [join(project, "package-lock.json"), join(project, "node_modules", ".package-lock.json")];
    const saved = await Promise.all(locks.map((l) => readFile(l)));
    await Promise.all(locks.map((l) => rm(l)));
    try {
      const r = await failing(["new-driver", "other"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /^driverplug: npm left no record of where this driverplug \S+ \(.+\) came from .*: pass --driverplug <spec>, e\.g\. --driverplug \^\S+ \(the npm registry\), --driverplug file:<path>\/driverplug-\S+\.tgz \(a tarball\)/,
      );
      expect(await readdir(project)).not.toContain("driverplug-driver-other");
    } finally {
      await Promise.all(locks.map((l, i) => writeFile(l, saved[i]!)));
    }
  });

  it("new-driver will not write into a folder that has files", async () => {
    const r = await failing(["new-driver", "mini"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `driverplug: ${driver} exists and is not empty: choose another folder with --dir, or remove it first\n`,
    );
  });

  it("the installed driverplug drives the bundled driver: create with its flags, ls, status, stop, rm", async () => {
    const help = await driverplug(["create", "--driver", "mini", "--help"]);
    expect(help.stdout).toContain("Driver flags (mini):");
    expect(help.stdout.replace(/\s+/g, " ")).toContain(
      "--memory <int> Memory size in MiB (int, default: 512, env: MINI_MEMORY)",
    );
    await driverplug(["create", "--driver", "mini", "--cpus", "2", "--memory", "1024", "m1"]);
    const config = JSON.parse(await readFile(join(store, "machines", "m1", "config.json"), "utf8")) as {
      config: unknown;
    };
    expect(config.config).toEqual({
      machineName: "m1",
      storePath: join(store, "machines", "m1"),
      cpus: 2,
      memoryMiB: 1024,
    });
    expect((await driverplug(["ls"])).stdout).toMatch(/^m1 +mini +Stopped +-$/m);
    await driverplug(["start", "m1"]);
    expect((await driverplug(["status", "m1"])).stdout).toBe("Running\n");
    const refused = await failing(["rm", "m1"]);
    expect(refused.stderr).toBe(
      `driverplug: Remove failed (FAILED_PRECONDITION): machine "m1" is running; stop it before removing it (run "driverplug stop m1", then rm again, or "driverplug rm --force m1" to kill it and remove it)\n`,
    );
    await driverplug(["stop", "m1"]);
    expect((await driverplug(["status", "m1"])).stdout).toBe("Stopped\n");
    await driverplug(["rm", "m1"]);
    expect(JSON.parse((await driverplug(["ls", "--json"])).stdout)).toEqual([]);
    const empty = await driverplug(["ls"]);
    expect(empty.stdout).toContain(`"driverplug create --driver <driver> <name>" makes one`);
    // The package shipped no code cache: the first runs here made the CLI's, next to its bundle.
    const installed = join(project, "node_modules", "driverplug", "dist", "bundle");
    expect(await readdir(installed)).toContain("driverplug.bundle.cjs.v8cache");
  }, 120_000);

  it("a host script that imports only the package runs a machine's life on the driver", async () => {
    const machineDir = join(pkg.dir, "host-machine");
    await mkdir(machineDir);
    await writeFile(
      join(project, "host.mjs"),
      `import { launch } from "driverplug/host";
import { State } from "driverplug";
const plugin = await launch("mini", { pluginDirs: [process.argv[2]] });
const seen = [];
try {
  const config = { machineName: "h1", storePath: process.argv[3], cpus: 1 };
  await plugin.client.setConfig({ configJson: Buffer.from(JSON.stringify(config)) });
  for await (const event of plugin.client.create({})) seen.push(event.progress?.step);
  seen.push(State[(await plugin.client.getState({})).state]);
  for await (const event of plugin.client.start({})) seen.push(event.progress?.step);
  seen.push(State[(await plugin.client.getState({})).state]);
  seen.push((await plugin.client.getIp({})).ip);
  await plugin.client.stop({});
  await plugin.client.remove({});
  seen.push(State[(await plugin.client.getState({})).state]);
} finally {
  await plugin.close();
}
console.log(JSON.stringify(seen));
`,
    );
    const { stdout } = await sh(project, process.execPath, ["host.mjs", join(driver, "dist", "bundle"), machineDir]);
    expect(JSON.parse(stdout)).toEqual([
      "disk",
      "done",
      "STATE_STOPPED",
      "boot",
      "STATE_RUNNING",
      "192.0.2.10",
      "STATE_NONE_UNSPECIFIED",
    ]);
  }, 120_000);
});
