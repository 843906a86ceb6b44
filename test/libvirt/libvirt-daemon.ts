// The libvirt daemon the libvirt tests talk to, started by the tests and
// stopped after them (global-daemon.ts stops it when the run ends, failed or
// not). qemu:///session is the privileged daemon for root (as libvirt has
// it) and the user's session daemon otherwise; either way the tests start it
// the way the driver would (session-daemon.ts), but without the idle
// timeout, and write its pid to the run's marker so the teardown kills
// exactly it. A daemon that already answered before the tests is used and
// left alone. No test kills this shared daemon: the daemon-restart test uses
// a daemon of its own (remote-host.ts).
import { spawn } from "node:child_process";
import { existsSync, promises as fs, readFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { privilegedLaunch } from "../../src/drivers/libvirt/rpc/daemon-launch.js";
import { daemonSocketPath, libvirtdPath, userRuntimeDir } from "../../src/drivers/libvirt/rpc/session-daemon.js";

/**
 * Where this test run notes the pids of the daemons it started (one per
 * line): global-daemon.ts names a file of the run's own in the environment
 * the test workers inherit, so a run never stops another run's daemon.
 */
export const DAEMON_MARKER_ENV = "DRIVERPLUG_TEST_LIBVIRTD_PIDS";
const marker = () => process.env[DAEMON_MARKER_ENV] ?? join(tmpdir(), `driverplug-test-libvirtd-${process.pid}.pids`);

const isRoot = () => process.geteuid?.() === 0;

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** The daemon's own pidfile: /run/libvirtd.pid when privileged, else in the user's runtime dir. */
export function daemonPidfile(): string {
  return isRoot() ? "/run/libvirtd.pid" : join(userRuntimeDir(), "libvirtd.pid");
}

/** The daemon the tests talk to: `started` when this test process started it (then `pid` is its process). */
export interface TestDaemon {
  started: boolean;
  pid?: number;
}

let ensured: Promise<TestDaemon> | undefined;

/** Makes sure qemu:///session answers; starts (and marks) a daemon when it does not. */
export function ensureLibvirtDaemon(): Promise<TestDaemon> {
  ensured ??= start();
  return ensured;
}

async function start(): Promise<TestDaemon> {
  const socket = daemonSocketPath("session");
  if (await answers(socket)) return { started: false };
  const binary = libvirtdPath();
  if (!binary) throw new Error("libvirtd is not installed: run `sh scripts/install-libvirt-deps.sh` (or `make setup`)");
  const dir = await fs.mkdtemp(join(tmpdir(), "dp-lvd-"));
  const command = isRoot() ? await privilegedLaunch([binary], dir) : { file: binary, args: [] };
  const child = spawn(command.file, command.args, { detached: true, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  child.unref();
  // exec keeps the pid: unshare -> sh -> libvirtd.
  await fs.appendFile(marker(), `${child.pid}\n`);
  const deadline = Date.now() + 60_000;
  // Another test file may have started one at the same moment: then ours
  // exits (libvirtd's pidfile lock) and theirs answers, which is as good.
  while (!(await answers(socket))) {
    if (Date.now() > deadline) {
      const status = child.exitCode !== null ? ` (it exited with status ${child.exitCode})` : "";
      throw new Error(`libvirtd did not answer on ${socket} within 60 s${status}: ${stderr}`);
    }
    await sleep(100);
  }
  child.stderr!.destroy();
  return { started: child.exitCode === null, ...(child.exitCode === null ? { pid: child.pid! } : {}) };
}

/** Kills the daemons the tests started (SIGTERM, then SIGKILL) and waits until they are gone. */
export async function stopTestDaemons(): Promise<void> {
  const file = marker();
  if (!existsSync(file)) return;
  const pids = readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      continue;
    }
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && alive(pid)) await sleep(100);
    if (alive(pid)) {
      process.kill(pid, "SIGKILL");
      while (alive(pid)) await sleep(50);
    }
  }
  await fs.rm(file, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}
