// `driverplug new-driver <name>`: writes a driver project that builds, tests
// itself through the `driverplug` command and bundles: package.json,
// tsconfig.json, src/driver.ts (a driver that keeps its machine under
// storePath), src/main.ts, bin/driverplug-driver-<name>, test/driver.test.ts.
// The files are the package's templates/new-driver/ with the name filled in;
// the dev dependencies are pinned to the versions driverplug is built with,
// and driverplug itself is the spec this installation came from. The folder
// must be the user's alone, and every file is created new (O_EXCL, no
// symlink followed): the project's npm scripts run as the user.
import { constants } from "node:fs";
import { mkdir, open, readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { Command } from "commander";
import type { CliContext } from "../cli-context.js";
import { println } from "../cli-context.js";
import { CliError, EXIT_PRECONDITION, EXIT_USAGE } from "../cli-error.js";
import { installedSpec, specFor } from "../installed-driverplug.js";
import { ensureOwnFolder, FolderRefused } from "../../fs/own-folder.js";
import { findPackageRoot } from "../../fs/package-root.js";

const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

interface Manifest {
  name: string;
  version: string;
  devDependencies?: Record<string, string>;
}

async function templateFiles(dir: string, under = ""): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, under), { withFileTypes: true })) {
    const path = join(under, entry.name);
    if (entry.isDirectory()) out.push(...(await templateFiles(dir, path)));
    else out.push(path);
  }
  return out.sort();
}

function projectManifest(name: string, driverplugSpec: string, ours: Manifest): string {
  const pinned = (pkg: string) => {
    const version = ours.devDependencies?.[pkg];
    if (version === undefined) throw new Error(`driverplug's package.json has no devDependency ${pkg}`);
    return version;
  };
  const manifest = {
    name: `driverplug-driver-${name}`,
    version: "0.1.0",
    description: `The ${name} machine driver, a driverplug plugin`,
    private: true,
    type: "module",
    bin: { [`driverplug-driver-${name}`]: `bin/driverplug-driver-${name}` },
    scripts: {
      build: "tsc -p tsconfig.json",
      test: "npm run build && node --test dist/test/driver.test.js",
      bundle: `driverplug bundle src/main.ts dist/bundle/driverplug-driver-${name}`,
    },
    dependencies: { driverplug: driverplugSpec },
    devDependencies: {
      "@types/node": pinned("@types/node"),
      esbuild: pinned("esbuild"),
      typescript: pinned("typescript"),
    },
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/**
 * The driverplug dependency: the spec given (a relative file: path rewritten
 * for the project's folder), else where the running driverplug was installed
 * from; when that cannot be told, a usage error naming what to pass.
 */
function dependencySpec(given: string | undefined, dir: string, root: string, ours: Manifest): string {
  if (given !== undefined) return specFor(dir, given);
  const found = installedSpec(root, ours.name, ours.version);
  if ("spec" in found) return specFor(dir, found.spec);
  throw new CliError(
    `${found.unknown}, so new-driver cannot write a driverplug dependency that installs: pass --driverplug <spec>, ` +
      `e.g. --driverplug ^${ours.version} (the npm registry), --driverplug file:<path>/driverplug-${ours.version}.tgz (a tarball) ` +
      `or --driverplug file:<path to a built driverplug checkout>`,
    EXIT_USAGE,
  );
}

/** Creates `path` for writing, never through a symlink and never over anything already there. */
async function writeNew(path: string, text: string, mode: number): Promise<void> {
  const file = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    await file.writeFile(text);
  } finally {
    await file.close();
  }
}

/** The project folder: made or empty, and only this user's to change (see own-folder.ts). */
async function projectFolder(dir: string): Promise<string> {
  let real: string;
  try {
    real = await ensureOwnFolder(dir, "project folder");
  } catch (err) {
    if (err instanceof FolderRefused)
      throw new CliError(`${err.message} (the --dir of new-driver)`, err.notAFolder ? EXIT_USAGE : EXIT_PRECONDITION);
    throw err;
  }
  if ((await readdir(real)).length > 0)
    throw new CliError(`${dir} exists and is not empty: choose another folder with --dir, or remove it first`);
  return real;
}

export function newDriverCommand(ctx: () => CliContext): Command {
  return new Command("new-driver")
    .description("write a new driver project (driver, plugin entry, test, bundle step) to start from")
    .argument("<name>", "the driver's name, e.g. mini (its plugin is driverplug-driver-<name>)")
    .option("--dir <path>", "where to write it, a folder of your own (default: ./driverplug-driver-<name>)")
    .option(
      "--driverplug <spec>",
      "the driverplug dependency to write (default: where this driverplug was installed from), e.g. a version range or file:../driverplug.tgz",
    )
    .action(async (name: string, opts: { dir?: string; driverplug?: string }) => {
      const c = ctx();
      if (!NAME.test(name))
        throw new CliError(
          `invalid driver name ${JSON.stringify(name)}: use 1 to 32 lowercase letters, digits, "-" or "_", starting with a letter or digit`,
          EXIT_USAGE,
        );
      const dir = resolve(opts.dir ?? `driverplug-driver-${name}`);
      const root = findPackageRoot();
      const ours = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as Manifest;
      // Said before anything is written: a project whose dependency cannot install is no start.
      const manifest = projectManifest(name, dependencySpec(opts.driverplug, dir, root, ours), ours);
      const real = await projectFolder(dir);
      const templates = join(root, "templates", "new-driver");
      const fill = (text: string) =>
        text.replaceAll("__DRIVER__", name).replaceAll("__ENV__", name.toUpperCase().replace(/-/g, "_"));
      for (const file of await templateFiles(templates)) {
        // npm leaves any .gitignore out of a package, hence the template's plain name.
        const target = join(real, fill(file === "gitignore" ? ".gitignore" : file));
        for (const folder of folders(real, target)) await mkdir(folder, { mode: 0o755 }).catch(exists);
        await writeNew(
          target,
          fill(await readFile(join(templates, file), "utf8")),
          file.startsWith("bin/") ? 0o755 : 0o644,
        );
      }
      await writeNew(join(real, "package.json"), manifest, 0o644);
      const shown = relative(process.cwd(), dir) || ".";
      println(c.io, `Wrote the ${name} driver project in ${shown}. Next:`);
      println(c.io, `  cd ${shown}`);
      println(c.io, "  npm install");
      println(c.io, "  npm test          # builds, then drives a machine through the driverplug command");
      println(c.io, `  npm run bundle    # dist/bundle/driverplug-driver-${name}, the fast-starting plugin`);
    });
}

/** The folders between `top` (excluded) and the file `target`, outermost first. */
function folders(top: string, target: string): string[] {
  const out: string[] = [];
  for (let p = dirname(target); p !== top && p.startsWith(`${top}/`); p = dirname(p)) out.unshift(p);
  return out;
}

/** A template folder made by an earlier file of this run is fine; anything else is not. */
function exists(err: NodeJS.ErrnoException): void {
  if (err.code !== "EEXIST") throw err;
}
