// How a machine's state is read: QMP run states mapped to driver states, and
// the pidfile judged by its POSIX lock (held by a real process here), never by
// its pid alone: a pidfile naming a live process that holds no lock is stale,
// reads STOPPED and is removed with the dead sockets next to it.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { promises as fs } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { State } from "../../generated/driverplug/driver/v1/driver.js";
import { MachineFiles } from "../../src/drivers/qemu/machine-files.js";
import { parseProcLocks, pidfileStatus, splitDev } from "../../src/drivers/qemu/pidfile-lock.js";
import { observeVm, stateOfRunStatus } from "../../src/drivers/qemu/vm-state.js";

let root: string;
let files: MachineFiles;
let holder: ChildProcess | undefined;

beforeEach(async () => {
  root = await fs.mkdtemp(join(tmpdir(), "dp-state-"));
  files = new MachineFiles(root);
  await files.ensureDir();
});
afterEach(async () => {
  holder?.kill("SIGKILL");
  if (holder && holder.exitCode === null && holder.signalCode === null) await once(holder, "exit");
  holder = undefined;
  await fs.rm(root, { recursive: true, force: true });
});

/** A process that takes QEMU's lock (lockf: a POSIX write lock) on the pidfile and writes its pid, as QEMU does. */
async function lockPidfile(path: string): Promise<ChildProcess> {
  const code = `
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
os.ftruncate(fd, 0)
os.write(fd, (str(os.getpid()) + "\\n").encode())
print("locked", flush=True)
sys.stdin.read()
`;
  const child = spawn("/usr/bin/python3", ["-c", code, path], { stdio: ["pipe", "pipe", "inherit"] });
  const [chunk] = (await once(child.stdout!, "data")) as [Buffer];
  expect(chunk.toString()).toContain("locked");
  return child;
}

describe("QMP run states", () => {
  it("map to the driver's states", () => {
    expect(stateOfRunStatus("running")).toBe(State.STATE_RUNNING);
    expect(stateOfRunStatus("paused")).toBe(State.STATE_PAUSED);
    expect(stateOfRunStatus("suspended")).toBe(State.STATE_PAUSED);
    expect(stateOfRunStatus("prelaunch")).toBe(State.STATE_STARTING);
    expect(stateOfRunStatus("inmigrate")).toBe(State.STATE_STARTING);
    expect(stateOfRunStatus("shutdown")).toBe(State.STATE_STOPPING);
    expect(stateOfRunStatus("save-vm")).toBe(State.STATE_SAVED);
    expect(stateOfRunStatus("guest-panicked")).toBe(State.STATE_ERROR);
    expect(stateOfRunStatus("internal-error")).toBe(State.STATE_ERROR);
    expect(stateOfRunStatus("some-future-state")).toBe(State.STATE_ERROR);
  });
});

describe("/proc/locks", () => {
  it("is parsed into holder pid, device and inode; blocked waiters hold nothing", () => {
    const locks = parseProcLocks(
      "1: POSIX  ADVISORY  WRITE 20689 fe:00:2154532 0 EOF\n1: -> POSIX  ADVISORY  WRITE 300 fe:00:2154532 0 EOF\n2: FLOCK  ADVISORY  WRITE 77 00:2b:99 0 EOF\n",
    );
    expect(locks).toEqual([
      { kind: "POSIX", access: "WRITE", pid: 20689, major: 0xfe, minor: 0, inode: 2154532 },
      { kind: "FLOCK", access: "WRITE", pid: 77, major: 0, minor: 0x2b, inode: 99 },
    ]);
    expect(splitDev(65024)).toEqual({ major: 0xfe, minor: 0 });
  });
});

describe("the pidfile", () => {
  it("is locked while its process holds QEMU's lock, and stale once that process is gone", async () => {
    const path = files.path("pidfile");
    expect(await pidfileStatus(path)).toEqual({ kind: "absent" });
    holder = await lockPidfile(path);
    expect(await pidfileStatus(path)).toEqual({ kind: "locked", pid: holder.pid });
    holder.kill("SIGKILL");
    await once(holder, "exit");
    expect(await pidfileStatus(path)).toEqual({ kind: "stale", pid: holder.pid });
  });

  it("naming a live process that holds no lock is stale: the lock decides, not the pid", async () => {
    await fs.writeFile(files.path("pidfile"), `${process.pid}\n`);
    expect(await pidfileStatus(files.path("pidfile"))).toEqual({ kind: "stale", pid: process.pid });
    const seen = await observeVm(files);
    expect(seen.state).toBe(State.STATE_STOPPED);
    expect(seen.cleaned).toContain(files.path("pidfile"));
    await expect(fs.lstat(files.path("pidfile"))).rejects.toThrow(/ENOENT/);
  });

  it("that is a symlink is never followed", async () => {
    const elsewhere = join(root, "other.pid");
    await fs.writeFile(elsewhere, `${process.pid}\n`);
    await fs.symlink(elsewhere, files.path("pidfile"));
    expect((await pidfileStatus(files.path("pidfile"))).kind).toBe("stale");
  });
});

describe("a dead VM's files", () => {
  it("read as STOPPED and are removed, while a socket someone listens on stays", async () => {
    await fs.writeFile(files.path("pidfile"), "999999\n");
    // A socket left by a dead QEMU: bound by a process that then exited without unlinking it.
    const stale = spawn("/usr/bin/python3", [
      "-c",
      "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])",
      files.socket("console"),
    ]);
    await once(stale, "exit");
    const live = createServer();
    await new Promise<void>((r) => live.listen(files.socket("ready"), r));
    try {
      const seen = await observeVm(files);
      expect(seen.state).toBe(State.STATE_STOPPED);
      expect(seen.cleaned).toEqual(expect.arrayContaining([files.path("pidfile"), files.socket("console")]));
      await expect(fs.lstat(files.socket("console"))).rejects.toThrow(/ENOENT/);
      expect((await fs.lstat(files.socket("ready"))).isSocket()).toBe(true);
    } finally {
      await new Promise<void>((r) => live.close(() => r()));
    }
  });
});
