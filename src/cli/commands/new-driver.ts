// `driverplug new-driver <name>`: writes a driver project that builds, tests
// itself through the `driverplug` command and bundles: package.json,
// tsconfig.json, src/driver.ts (a driver that keeps its machine under
// storePath), src/main.ts, bin/driverplug-driver-<name>, test/driver.test.ts.
// The files are the package's templates/new-driver/ with the name filled in;
// the dev dependencies are pinned to the versions driverplug is built with.
import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { isAbsolute, join, relative, resolve } from "node:path";
import { Command } from "commander";
import type { CliContext } from "../cli-context.js";
import { println } from "../cli-context.js";
import { CliError, EXIT_USAGE } from "../cli-error.js";
import { findPackageRoot } from "../../fs/package-root.js";

const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

interface Manifest {
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

/** The driverplug dependency: this version by default; a relative file: spec as typed here, rewritten for the project's folder. */
function dependencySpec(given: string | undefined, dir: string, ours: Manifest): string {
  if (given === undefined) return `^${ours.version}`;
  const path = given.startsWith("file:") ? given.slice("file:".length) : undefined;
  if (path === undefined || isAbsolute(path)) return given;
  return `file:${relative(dir, resolve(path))}`;
}

export function newDriverCommand(ctx: () => CliContext): Command {
  return new Command("new-driver")
    .description("write a new driver project (driver, plugin entry, test, bundle step) to start from")
    .argument("<name>", "the driver's name, e.g. mini (its plugin is driverplug-driver-<name>)")
    .option("--dir <path>", "where to write it (default: ./driverplug-driver-<name>)")
    .option("--driverplug <spec>", "the driverplug dependency to write, e.g. a version range or file:../driverplug.tgz")
    .action(async (name: string, opts: { dir?: string; driverplug?: string }) => {
      const c = ctx();
      if (!NAME.test(name))
        throw new CliError(
          `invalid driver name ${JSON.stringify(name)}: use 1 to 32 lowercase letters, digits, "-" or "_", starting with a letter or digit`,
          EXIT_USAGE,
        );
      const dir = resolve(opts.dir ?? `driverplug-driver-${name}`);
      const existing = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return [];
        throw err;
      });
      if (existing.length > 0)
        throw new CliError(`${dir} exists and is not empty: choose another folder with --dir, or remove it first`);
      const root = findPackageRoot();
      const ours = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as Manifest;
      const templates = join(root, "templates", "new-driver");
      const fill = (text: string) =>
        text.replaceAll("__DRIVER__", name).replaceAll("__ENV__", name.toUpperCase().replace(/-/g, "_"));
      for (const file of await templateFiles(templates)) {
        // npm leaves any .gitignore out of a package, hence the template's plain name.
        const target = join(dir, fill(file === "gitignore" ? ".gitignore" : file));
        await mkdir(join(target, ".."), { recursive: true });
        await writeFile(target, fill(await readFile(join(templates, file), "utf8")));
        if (file.startsWith("bin/")) await chmod(target, 0o755);
      }
      await writeFile(
        join(dir, "package.json"),
        projectManifest(name, dependencySpec(opts.driverplug, dir, ours), ours),
      );
      const shown = relative(process.cwd(), dir) || ".";
      println(c.io, `Wrote the ${name} driver project in ${shown}. Next:`);
      println(c.io, `  cd ${shown}`);
      println(c.io, "  npm install");
      println(c.io, "  npm test          # builds, then drives a machine through the driverplug command");
      println(c.io, `  npm run bundle    # dist/bundle/driverplug-driver-${name}, the fast-starting plugin`);
    });
}
