#!/usr/bin/env node
// Turns a driverplug plugin's entry file into a fast-starting executable: one
// CommonJS esbuild bundle of the plugin and its node_modules, run through
// code-cache-runner.cjs with a V8 code cache made here by starting the plugin
// once. Driver authors use it for their own plugins; `make build` uses it for
// the fake driver (and the CLI).
//
//   node scripts/bundle-plugin.mjs <entry.ts|entry.js> <out> [--no-cache] [--cookie=KEY=VALUE]
//
// writes <out> (a /bin/sh launcher: `exec node <out>.cjs "$@"`), <out>.cjs
// (the runner), <out>.bundle.cjs, its .map and, unless --no-cache, the code
// cache <out>.bundle.cjs.v8cache. The entry must not use top-level await
// (the bundle is CommonJS so V8 can cache it): call `serve(...)` without
// awaiting it. --cookie names the plugin's magic cookie when it is not
// driverplug's default (the cache is made by starting the plugin). Run the
// build as the user who runs the plugin: the runner only trusts a cache owned
// by that user. `driverplug bundle <entry> <out>` runs the same code.
//
// esbuild is the driver project's dev dependency, not driverplug's: it is
// looked up from the current folder's project first, then from driverplug's,
// and when it is in neither the error says how to install it.
import { Client, credentials } from "@grpc/grpc-js";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { writeFileAtomic } from "../dist/src/fs/atomic-write.js";

const RUNNER = fileURLToPath(new URL("./code-cache-runner.cjs", import.meta.url));
const STAMP = "//driverplug-bundle:";
// What import.meta.url becomes in the CommonJS bundle: the bundle's own URL.
const META_URL = "__driverplug_import_meta_url";
const DEFAULT_COOKIE = { key: "DRIVERPLUG_PLUGIN", value: "machine-driver" };

/** The source files each bundle holds, by its `out` (for the build's own checks). */
export const bundledInputs = new Map();

/** Thrown when esbuild cannot be found; its message says how to install it. */
export class EsbuildMissing extends Error {
  name = "EsbuildMissing";
}

/** esbuild's API, from the project in `cwd` or else next to driverplug. */
export async function loadEsbuild(cwd = process.cwd()) {
  for (const base of [join(resolve(cwd), "package.json"), fileURLToPath(import.meta.url)]) {
    let path;
    try {
      path = createRequire(base).resolve("esbuild");
    } catch (err) {
      if (err?.code === "MODULE_NOT_FOUND") continue;
      throw err;
    }
    const mod = await import(pathToFileURL(path).href);
    return mod.build ? mod : mod.default;
  }
  const manifest = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));
  const version = manifest.devDependencies?.esbuild;
  throw new EsbuildMissing(
    `esbuild is not installed: bundling needs it, as a dev dependency of your driver's project. ` +
      `Install it there with \`npm install --save-dev --save-exact esbuild${version ? `@${version}` : ""}\`` +
      `${version ? " (the version driverplug is tested with)" : ""}, then run the bundle command again from that folder.`,
  );
}

/**
 * Bundles `entry` into `<out>.bundle.cjs` and writes the runner and launcher.
 * Returns the launcher's path.
 */
export async function bundlePlugin({ entry, out, sourcemap = true, external = [], alias, plugins }) {
  out = resolve(out);
  const bundle = `${out}.bundle.cjs`;
  const { build } = await loadEsbuild();
  const result = await build({
    entryPoints: [resolve(entry)],
    bundle: true,
    // Packages with native addons load their prebuilt binary relative to their own folder: required at run time.
    external,
    ...(alias ? { alias } : {}),
    ...(plugins ? { plugins } : {}),
    metafile: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    write: false,
    outfile: bundle,
    // Whitespace and syntax only: names stay readable in stack traces.
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: sourcemap ? "linked" : false,
    define: { "import.meta.url": META_URL },
    banner: { js: `"use strict";var ${META_URL} = require("node:url").pathToFileURL(__filename).href;` },
    logLevel: "silent",
  }).catch((err) => {
    const tla = err?.errors?.some((e) => /top-level await/i.test(e.text));
    if (tla)
      throw new Error(
        `${entry} uses top-level await, which a CommonJS bundle cannot hold: call serve(...) without awaiting it`,
      );
    throw err;
  });
  await mkdir(dirname(out), { recursive: true });
  for (const file of result.outputFiles) {
    if (file.path === bundle) {
      const code = file.text;
      // The runner reads the bundle as latin1, quicker than UTF-8 and exact
      // for esbuild's default ASCII-only output.
      if (!/^[\x00-\x7f]*$/.test(code))
        throw new Error(`the bundle of ${entry} is not ASCII-only; the code-cache runner needs it to be`);
      const stamp = `${STAMP}${createHash("sha256").update(code).digest("hex")}\n`;
      await writeAtomically(bundle, stamp + code, 0o644);
    } else {
      // The stamp line shifts the bundle's lines by one: one more ";" up front.
      const map = JSON.parse(file.text);
      map.mappings = `;${map.mappings}`;
      await writeAtomically(file.path, JSON.stringify(map), 0o644);
    }
  }
  await writeAtomically(`${out}.cjs`, await readFile(RUNNER), 0o644);
  await writeAtomically(out, launcher(basename(out)), 0o755);
  bundledInputs.set(out, Object.keys(result.metafile.inputs));
  // The old cache no longer fits the new bundle (the runner would skip it anyway).
  await rm(`${bundle}.v8cache`, { force: true });
  if (!sourcemap) await rm(`${bundle}.map`, { force: true });
  return out;
}

/**
 * Plugins may be starting from these files while a build runs: they see the
 * old file or the new, never half of one. Through driverplug's one atomic
 * writer (src/fs/atomic-write.ts, compiled into dist/ before this runs): an
 * unguessable temp name created O_EXCL, so nothing planted in the folder is
 * followed.
 */
async function writeAtomically(path, data, mode) {
  await writeFileAtomic(path, data, mode);
}

/** A /bin/sh launcher: no Node start of its own, and symlinks (npm's bin links) resolved. */
function launcher(name) {
  return `#!/bin/sh
# ${name}: runs ${name}.cjs (written by driverplug's scripts/bundle-plugin.mjs).
self=$0
while [ -L "$self" ]; do
  link=$(readlink "$self")
  case $link in /*) self=$link ;; *) self=\${self%/*}/$link ;; esac
done
exec node "$self.cjs" "$@"
`;
}

/**
 * Writes the bundle's code cache by running it once: a plugin (the default)
 * with its cookie and a private socket dir until its handshake, then stopped
 * with SIGTERM; a command (`{ command: true, args }`) until it exits. `env`
 * adds to the builder's environment (from which plugin, driverplug and
 * NODE_OPTIONS variables are removed). The runner writes the cache at exit,
 * so it holds what the run compiled.
 */
export async function writeCodeCache(
  out,
  { command = false, args = [], env = {}, cookie = DEFAULT_COOKIE, timeoutMs = 60_000 } = {},
) {
  out = resolve(out);
  const dir = await mkdtemp(join(tmpdir(), "dpc-"));
  try {
    const child = spawn(process.execPath, [`${out}.cjs`, ...args], {
      stdio: ["pipe", "pipe", "pipe"],
      env: {
        ...trainingEnv(process.env),
        ...env,
        [cookie.key]: cookie.value,
        PLUGIN_UNIX_SOCKET_DIR: dir,
        DRIVERPLUG_WRITE_CODE_CACHE: "1",
      },
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    if (command) child.stdout.resume();
    // "close", not "exit": by then stderr is read to its end, for the error message.
    const exited = once(child, "close");
    const failure = ([code, signal]) =>
      new Error(`${out} exited with ${signal ?? code} while its code cache was made:\n${stderr}`);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    try {
      if (!command) {
        const handshake = await firstLine(child.stdout).catch(async () => {
          throw failure(await exited);
        });
        await healthCheck(handshake);
        child.kill("SIGTERM");
      }
      const [code, signal] = await exited;
      if (code !== 0) throw failure([code, signal]);
    } finally {
      clearTimeout(timer);
      child.stdin.end();
    }
    await readFile(`${out}.bundle.cjs.v8cache`).catch(() => {
      throw new Error(`${out} did not write its code cache; is ${out}.cjs the runner from bundle-plugin.mjs?`);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The builder's environment without what would change the run: plugin
 * protocol variables (AutoMTLS would refuse the plain health check) and
 * NODE_OPTIONS (V8 flags there would make a cache that plain runs reject).
 */
function trainingEnv(env) {
  const clean = {};
  for (const [key, value] of Object.entries(env)) {
    if (!/^(PLUGIN_|MACHINE_PLUGIN_|DRIVERPLUG_)/.test(key) && key !== "NODE_OPTIONS") clean[key] = value;
  }
  return clean;
}

/**
 * One grpc.health.v1 Check on the plugin, so the cache also holds the code
 * that serves a first call (every driverplug plugin serves health).
 */
async function healthCheck(handshake) {
  const address = handshake.split("|")[3];
  if (!address) throw new Error(`the plugin's handshake names no address: ${JSON.stringify(handshake)}`);
  const client = new Client(`unix:${address}`, credentials.createInsecure());
  try {
    await new Promise((resolveCall, reject) =>
      client.makeUnaryRequest(
        "/grpc.health.v1.Health/Check",
        () => Buffer.alloc(0),
        (b) => b,
        {},
        (err) => (err ? reject(err) : resolveCall()),
      ),
    );
  } finally {
    client.close();
  }
}

function firstLine(stream) {
  return new Promise((resolveLine, reject) => {
    let text = "";
    const onData = (d) => {
      text += d;
      const nl = text.indexOf("\n");
      if (nl >= 0) {
        stream.off("data", onData);
        resolveLine(text.slice(0, nl));
      }
    };
    stream.on("data", onData);
    stream.once("end", () =>
      reject(new Error(`the plugin closed stdout before its handshake: ${JSON.stringify(text)}`)),
    );
  });
}

const USAGE = "usage: node bundle-plugin.mjs <entry.ts|entry.js> <out> [--no-cache] [--cookie=KEY=VALUE]\n";

async function main(argv) {
  const args = argv.filter((a) => !a.startsWith("--"));
  const flags = argv.filter((a) => a.startsWith("--"));
  const cookieFlag = flags.find((f) => f.startsWith("--cookie="))?.slice("--cookie=".length);
  const cookie =
    cookieFlag === undefined
      ? DEFAULT_COOKIE
      : { key: cookieFlag.split("=")[0], value: cookieFlag.split("=").slice(1).join("=") };
  const unknown = flags.filter((f) => f !== "--no-cache" && !f.startsWith("--cookie="));
  if (args.length !== 2 || unknown.length > 0 || !cookie.key) {
    process.stderr.write(unknown.length > 0 ? `bundle-plugin: unknown option ${unknown[0]}\n${USAGE}` : USAGE);
    process.exit(2);
  }
  const out = await bundlePlugin({ entry: args[0], out: args[1] });
  if (!flags.includes("--no-cache")) await writeCodeCache(out, { cookie });
  process.stdout.write(`${out}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`bundle-plugin: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
