// `driverplug bundle <entry> <out>`: a driver's entry file in, a fast-starting
// plugin executable out (one CommonJS bundle run with a V8 code cache). The
// work is done by the package's scripts/bundle-plugin.mjs in a Node process of
// its own: it needs esbuild, the driver project's dev dependency, which cannot
// be bundled into the CLI, and the CLI's bundle cannot import() at run time.
// The output folder must be the user's alone (own-folder.ts), and every file
// goes through the project's atomic writer (unguessable temp name, O_EXCL).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join, resolve } from "node:path";
import { Command } from "commander";
import type { CliContext } from "../cli-context.js";
import { println } from "../cli-context.js";
import { CliError, EXIT_PRECONDITION, EXIT_USAGE } from "../cli-error.js";
import { ensureOwnFolder, FolderRefused } from "../../fs/own-folder.js";
import { findPackageRoot } from "../../fs/package-root.js";

function checkCookie(text: string): string {
  if (text.indexOf("=") <= 0)
    throw new CliError(
      `--cookie wants KEY=VALUE (the plugin's magic cookie, e.g. MYAPP_PLUGIN=driver), got ${JSON.stringify(text)}`,
      EXIT_USAGE,
    );
  return text;
}

export function bundleCommand(ctx: () => CliContext): Command {
  return new Command("bundle")
    .description("turn a driver's entry file into a fast-starting plugin executable (needs esbuild installed)")
    .argument("<entry>", "the driver's entry file (.ts or .js), which calls serve() without top-level await")
    .argument("<out>", "the executable to write, e.g. dist/bundle/driverplug-driver-mini")
    .option("--no-cache", "do not make the code cache now (the plugin's first run makes it)")
    .option("--cookie <KEY=VALUE>", "the plugin's magic cookie, when it is not driverplug's default")
    .action(async (entry: string, out: string, opts: { cache: boolean; cookie?: string }) => {
      const c = ctx();
      // The plugin executable is run later as the user: nobody else may be able to swap it in the meantime.
      await ensureOwnFolder(dirname(resolve(out)), "output folder").catch((err: unknown) => {
        if (err instanceof FolderRefused)
          throw new CliError(`bundle: ${err.message}`, err.notAFolder ? EXIT_USAGE : EXIT_PRECONDITION);
        throw err;
      });
      const args = [join(findPackageRoot(), "scripts", "bundle-plugin.mjs"), entry, out];
      if (!opts.cache) args.push("--no-cache");
      if (opts.cookie !== undefined) args.push(`--cookie=${checkCookie(opts.cookie)}`);
      const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: c.io.env });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      const [code, signal] = (await once(child, "close")) as [number | null, NodeJS.Signals | null];
      if (code !== 0) {
        // The script's errors are sentences for the user (esbuild missing,
        // top-level await, a build error with its file and line).
        const why = stderr.trim().replace(/^bundle-plugin: /, "") || `the bundler exited with ${signal ?? code}`;
        throw new CliError(`bundle: ${why}`);
      }
      const launcher = stdout.trim();
      println(c.io, launcher);
      c.io.stderr.write(
        `Wrote ${launcher} and, beside it, its runner and bundle${opts.cache ? " with a code cache" : ""}: put its folder on PATH or in DRIVERPLUG_PLUGIN_DIRS.\n`,
      );
    });
}
