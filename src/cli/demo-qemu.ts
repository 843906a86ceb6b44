// `make demo-qemu`: a real virtual machine's life through the driverplug
// command (the qemu driver and the test guest from `make guest`), in a
// throw-away store: create, start with its progress, run `uname -a` over
// `driverplug ssh`, status, stop, rm, each step timed. The end checks that no
// qemu process, socket, plugin or file of the machine is left.
// Usage: node dist/src/cli/demo-qemu.js <bundle dir>
import { existsSync } from "node:fs";
import { lstat, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { DriverHandle } from "./driver-launcher.js";
import { indented } from "./indented-output.js";
import { runCli } from "./run-cli.js";

const MACHINE = "demo-vm";

/** Pids of processes whose command line mentions `path` (a qemu of this store names its files there). */
async function processesUsing(path: string): Promise<{ pid: number; cmd: string }[]> {
  const found: { pid: number; cmd: string }[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmd = (await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "")).split("\0").join(" ");
    if (cmd.includes(path)) found.push({ pid: Number(entry), cmd: cmd.slice(0, 80) });
  }
  return found;
}

/** Every socket under `dir`, recursively. */
async function socketsUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await socketsUnder(path)));
    else if (entry.isSocket()) out.push(path);
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

async function main(bundle: string | undefined): Promise<number> {
  if (bundle === undefined || !existsSync(join(bundle, "bundle.json"))) {
    process.stderr.write(
      `demo-qemu: give the bundle directory (the last line 'make guest' prints); got ${JSON.stringify(bundle)}\n`,
    );
    return 2;
  }
  const store = await mkdtemp(join(tmpdir(), "dp-demo-qemu-"));
  const launched: DriverHandle[] = [];
  const out = process.stdout;
  const io = { stdout: indented(out), stderr: indented(out), env: { ...process.env, DRIVERPLUG_STORE: store } };
  const steps: string[][] = [
    ["create", "--driver", "qemu", "--bundle", bundle, MACHINE],
    ["start", MACHINE],
    ["ssh", MACHINE, "--", "uname", "-a"],
    ["status", MACHINE],
    ["stop", MACHINE],
    ["rm", MACHINE],
    // The commands above shared one warm plugin (it would end by itself after its idle period): end it now.
    ["plugins", "stop"],
  ];
  out.write(`driverplug demo: a real qemu machine's life\nbundle: ${bundle}\nstore: ${store} (temporary)\n\n`);
  const started = performance.now();
  let failed = false;
  try {
    for (const argv of steps) {
      out.write(`$ driverplug ${argv.join(" ")}\n`);
      const t0 = performance.now();
      const code = await runCli(argv, io, { onLaunch: (h) => launched.push(h) });
      const s = ((performance.now() - t0) / 1000).toFixed(2);
      if (code !== 0) {
        out.write(`  -> failed with exit code ${code} after ${s} s\n`);
        failed = true;
        break;
      }
      out.write(`  -> ok in ${s} s\n\n`);
    }
    if (!failed) out.write(`all ${steps.length} steps in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  } finally {
    if (failed) {
      // Leave nothing running behind a failed step either.
      await runCli(["rm", "--force", MACHINE], io);
      await runCli(["plugins", "stop"], io);
    }
    const left = await leftovers(store, launched);
    await rm(store, { recursive: true, force: true });
    if (left.length > 0) {
      out.write(`NOT CLEAN: still there: ${left.join(", ")}\n`);
      failed = true;
    } else {
      out.write(`No qemu process, socket or plugin is left (checked the store and ${pluginCount(launched)}).\n`);
    }
  }
  return failed ? 1 : 0;
}

/** Commands that reuse a warm plugin report it too: processes, not launches. */
function pluginCount(launched: readonly DriverHandle[]): string {
  const n = new Set(launched.map((h) => h.pid)).size;
  return `${n} plugin process${n === 1 ? "" : "es"}`;
}

async function leftovers(store: string, launched: readonly DriverHandle[]): Promise<string[]> {
  const left: string[] = [];
  for (const p of await processesUsing(store)) left.push(`process ${p.pid} (${p.cmd})`);
  for (const s of await socketsUnder(store)) left.push(`socket ${s}`);
  if (await exists(join(store, "machines", MACHINE))) left.push(`directory ${join(store, "machines", MACHINE)}`);
  for (const h of launched) {
    if (await exists(h.socketPath)) left.push(`plugin socket ${h.socketPath}`);
    if (await exists(dirname(h.socketPath))) left.push(`plugin directory ${dirname(h.socketPath)}`);
    if (alive(h.pid)) left.push(`plugin process ${h.pid}`);
  }
  return left;
}

process.exitCode = await main(process.argv[2]);
