// A machine's state, read from the system every time: the pidfile's lock says
// whether its QEMU lives, QMP's query-status says what the VM is doing.
// Nothing is persisted about the state, so nothing can get stuck: files left
// by a VM that died (crash, SIGKILL, host reboot) read as STOPPED and are
// removed, each only once it is proven dead (its pidfile unlocked and
// unchanged, its socket refusing connections).
import { promises as fs } from "node:fs";
import { connect } from "node:net";
import { State } from "../../plugin/index.js";
import { SOCKETS, type MachineFiles } from "./machine-files.js";
import { pidfileStatus } from "./pidfile-lock.js";
import { qmpOnce, QmpError } from "./qmp-client.js";

/** QMP's RunState names (query-status "status") to driver states. */
export function stateOfRunStatus(status: string): State {
  switch (status) {
    case "running":
    case "colo":
      return State.STATE_RUNNING;
    case "paused":
    case "suspended":
    case "debug":
    case "postmigrate":
    case "finish-migrate":
      return State.STATE_PAUSED;
    case "save-vm":
      return State.STATE_SAVED;
    case "prelaunch":
    case "inmigrate":
    case "restore-vm":
      return State.STATE_STARTING;
    case "shutdown":
      return State.STATE_STOPPING;
    case "guest-panicked":
    case "internal-error":
    case "io-error":
    case "watchdog":
      return State.STATE_ERROR;
    default:
      return State.STATE_ERROR;
  }
}

export interface Observed {
  state: State;
  /** The live QEMU's pid (when it runs). */
  pid?: number;
  /** Files of a dead VM that this reading removed. */
  cleaned?: string[];
}

export async function observeVm(files: MachineFiles): Promise<Observed> {
  const status = await pidfileStatus(files.path("pidfile"));
  switch (status.kind) {
    case "absent":
      return { state: State.STATE_STOPPED, cleaned: await removeDeadSockets(files) };
    case "forming":
      return { state: State.STATE_STARTING };
    case "stale":
      return { state: State.STATE_STOPPED, cleaned: await removeStale(files) };
    case "locked":
      break;
  }
  try {
    const answer = await qmpOnce<{ status: string }>(files.socket("qmp"), "query-status", undefined, {
      timeoutMs: 3_000,
    });
    return { state: stateOfRunStatus(answer.status), pid: status.pid };
  } catch (err) {
    // The monitor busy (its one client slot taken) or closing: the lock decides.
    const again = await pidfileStatus(files.path("pidfile"));
    if (again.kind !== "locked") return observeVm(files);
    const notUp =
      (err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ECONNREFUSED";
    if (err instanceof QmpError && err.errorClass === "Timeout") return { state: State.STATE_RUNNING, pid: again.pid };
    return { state: notUp ? State.STATE_STARTING : State.STATE_RUNNING, pid: again.pid };
  }
}

/** Removes a dead VM's pidfile (if it is still the one judged dead) and its dead sockets. */
async function removeStale(files: MachineFiles): Promise<string[]> {
  const path = files.path("pidfile");
  const removed: string[] = [];
  const before = await fs.lstat(path).catch(() => undefined);
  const status = await pidfileStatus(path);
  const after = await fs.lstat(path).catch(() => undefined);
  if (status.kind === "stale" && before && after && before.ino === after.ino) {
    await fs.unlink(path).catch(() => undefined);
    removed.push(path);
  }
  return [...removed, ...(await removeDeadSockets(files))];
}

async function removeDeadSockets(files: MachineFiles): Promise<string[]> {
  const removed: string[] = [];
  for (const name of Object.keys(SOCKETS) as Array<keyof typeof SOCKETS>) {
    const path = files.socket(name);
    const st = await fs.lstat(path).catch(() => undefined);
    if (!st) continue;
    // Only a socket nobody listens on; a live VM's (another process's fresh launch) stays.
    if (st.isSocket() && (await refused(path))) {
      await fs.unlink(path).catch(() => undefined);
      removed.push(path);
    }
  }
  return removed;
}

function refused(path: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(path);
    const done = (verdict: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(verdict);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once("connect", () => done(false));
    sock.once("error", (err: NodeJS.ErrnoException) => done(err.code === "ECONNREFUSED"));
  });
}
