// `npm start`: a machine's whole life on the bundled fake driver, in a
// throw-away store, through the same code path as the driverplug command.
// Each step prints what a user would type, the command's output and how long
// it took; the end checks that every plugin's socket, private directory and
// process is really gone.
import { lstat, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { DriverHandle } from "./driver-launcher.js";
import { indented } from "./indented-output.js";
import { runCli } from "./run-cli.js";

const MACHINE = "demo";

const STEPS: readonly (readonly string[])[] = [
  // A small step delay makes the progress visible as it streams.
  [
    "create",
    "--driver",
    "fake",
    "--cpus",
    "2",
    "--memory",
    "2048",
    "--network",
    "default",
    "--config",
    '{"stepDelayMs":40}',
    MACHINE,
  ],
  ["start", MACHINE],
  ["status", MACHINE],
  ["ip", MACHINE],
  ["ls"],
  ["stop", MACHINE],
  ["rm", MACHINE],
  // The commands above shared one warm plugin (it would end by itself after its idle period): end it now.
  ["plugins", "stop"],
];

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function main(): Promise<number> {
  const store = await mkdtemp(join(tmpdir(), "dp-demo-"));
  const launched: DriverHandle[] = [];
  const out = process.stdout;
  const io = { stdout: indented(out), stderr: indented(out), env: { ...process.env, DRIVERPLUG_STORE: store } };
  out.write(`driverplug demo: one machine's life on the fake driver\nstore: ${store} (temporary)\n\n`);
  const started = performance.now();
  let finished = false;
  try {
    for (const argv of STEPS) {
      out.write(`$ driverplug ${argv.map((a) => (/^[\w.,=/-]+$/.test(a) ? a : `'${a}'`)).join(" ")}\n`);
      const t0 = performance.now();
      const code = await runCli(argv, io, { onLaunch: (h) => launched.push(h) });
      const ms = Math.round(performance.now() - t0);
      if (code !== 0) {
        out.write(`  -> failed with exit code ${code} after ${ms} ms\n`);
        return code;
      }
      out.write(`  -> ok in ${ms} ms\n\n`);
    }
    finished = true;
    // Commands that reuse a warm plugin report it too: one entry per process.
    const plugins = [...new Map(launched.map((h) => [h.pid, h])).values()];
    const n = plugins.length;
    out.write(
      `all ${STEPS.length} steps in ${Math.round(performance.now() - started)} ms, ${n} plugin process${n === 1 ? "" : "es"} launched and ended\n`,
    );
    return await checkEverythingGone(plugins);
  } finally {
    // A failed step leaves no warm plugin behind either.
    if (!finished) await runCli(["plugins", "stop"], io);
    await rm(store, { recursive: true, force: true });
  }
}

/** The last word: where the sockets lived, and proof that nothing is left. */
async function checkEverythingGone(launched: readonly DriverHandle[]): Promise<number> {
  const left: string[] = [];
  for (const h of launched) {
    if (await exists(h.socketPath)) left.push(`socket ${h.socketPath}`);
    if (await exists(dirname(h.socketPath))) left.push(`directory ${dirname(h.socketPath)}`);
    if (processAlive(h.pid)) left.push(`process ${h.pid}`);
  }
  const last = launched.at(-1);
  if (last === undefined) {
    process.stdout.write("no plugin was launched\n");
    return 1;
  }
  if (left.length > 0) {
    process.stdout.write(`NOT CLEAN: still there: ${left.join(", ")}\n`);
    return 1;
  }
  process.stdout.write(
    `The last plugin's socket lived at ${last.socketPath}; it is gone now, as are its private directory and process ${last.pid} ` +
      `(checked for ${launched.length === 1 ? "it" : `all ${launched.length} plugins`}).\n`,
  );
  return 0;
}

process.exitCode = await main();
