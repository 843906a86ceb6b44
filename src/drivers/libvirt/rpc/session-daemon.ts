// Where a local libvirt daemon listens, and starting one when qemu:///session
// finds none, the way libvirt's own client does (virNetSocketNewConnectUNIX):
// hold <runtime dir>/libvirtd.lock while connecting so two clients never both
// start one, start `libvirtd --timeout=120` detached (it exits two minutes
// after its last client and domain), then retry the connect. As in libvirt,
// qemu:///session of root is the privileged daemon's socket; libvirt's client
// would not start that one, this one does (see daemon-launch.ts), so that
// root's qemu:///session needs no set-up either.
import { spawn } from "node:child_process";
import { constants, existsSync, promises as fs } from "node:fs";
import { connect, type Socket } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { tryLock, unlock } from "fs-native-extensions";
import type { LibvirtMode } from "./connection-uri.js";
import { privilegedLaunch } from "./daemon-launch.js";

/** libvirt's per-user runtime dir: $XDG_RUNTIME_DIR/libvirt, else ~/.cache/libvirt. */
export function userRuntimeDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  return xdg ? join(xdg, "libvirt") : join(env.HOME || homedir(), ".cache", "libvirt");
}

/** The socket a local URI's daemon listens on. */
export function daemonSocketPath(
  mode: LibvirtMode,
  env: NodeJS.ProcessEnv = process.env,
  euid = process.geteuid?.() ?? 0,
): string {
  if (mode === "session" && euid !== 0) return join(userRuntimeDir(env), "libvirt-sock");
  // The monolithic daemon's socket; a host with modular daemons has virtqemud's.
  const monolithic = "/run/libvirt/libvirt-sock";
  const modular = "/run/libvirt/virtqemud-sock";
  return !existsSync(monolithic) && existsSync(modular) ? modular : monolithic;
}

/** The libvirtd binary a session daemon is started from: $LIBVIRTD_PATH as libvirt honours it, else the usual places. */
export function libvirtdPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.LIBVIRTD_PATH) return env.LIBVIRTD_PATH;
  for (const dir of ["/usr/sbin", "/usr/local/sbin", "/sbin"]) {
    const path = join(dir, "libvirtd");
    if (existsSync(path)) return path;
  }
  return undefined;
}

function connectOnce(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const onError = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.once("error", onError);
    socket.once("connect", () => {
      socket.off("error", onError);
      resolve(socket);
    });
  });
}

const RETRYABLE = new Set(["ENOENT", "ECONNREFUSED"]);
/** libvirt's client waits 5 s; a loaded 2-core machine needed more, and a start is rare. */
const SPAWN_WAIT_MS = 30_000;
const RETRY_STEP_MS = 20;

/**
 * Connects to a local daemon's socket. For session mode a missing or dead
 * socket starts a session daemon first (unless `autostart` is false).
 */
export async function connectLocalDaemon(
  mode: LibvirtMode,
  options: { env?: NodeJS.ProcessEnv; autostart?: boolean; signal?: AbortSignal } = {},
): Promise<Socket> {
  const env = options.env ?? process.env;
  const path = daemonSocketPath(mode, env);
  if (mode === "system" || options.autostart === false) {
    try {
      return await connectOnce(path);
    } catch (err) {
      throw new Error(
        `cannot connect to the libvirt ${mode} daemon at ${path}: ${(err as Error).message}${hintFor(mode, err)}`,
        {
          cause: err,
        },
      );
    }
  }
  const runtime = userRuntimeDir(env);
  await fs.mkdir(runtime, { recursive: true, mode: 0o700 });
  const lockPath = join(runtime, "libvirtd.lock");
  const lock = await fs.open(lockPath, constants.O_RDWR | constants.O_CREAT, 0o600);
  try {
    // libvirt's client waits for this lock; ours polls (the lock is held for seconds at most).
    while (!tryLock(lock.fd, 0, 1)) {
      options.signal?.throwIfAborted();
      await sleep(RETRY_STEP_MS);
    }
    let started = false;
    const deadline = Date.now() + SPAWN_WAIT_MS;
    for (;;) {
      try {
        return await connectOnce(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? "";
        if (!RETRYABLE.has(code) || (started && Date.now() > deadline)) {
          throw new Error(
            `cannot connect to the libvirt session daemon at ${path}` +
              (started ? ` (started libvirtd --timeout=120 ${SPAWN_WAIT_MS / 1000} s ago)` : "") +
              `: ${(err as Error).message}`,
            { cause: err },
          );
        }
        if (!started) {
          await startDaemon(env, runtime);
          started = true;
        }
        options.signal?.throwIfAborted();
        await sleep(RETRY_STEP_MS);
      }
    }
  } finally {
    try {
      unlock(lock.fd, 0, 1);
    } catch {
      // Not held (we failed before locking): nothing to release.
    }
    await lock.close();
    // libvirt's client removes the lock file too once it has connected.
    await fs.rm(lockPath, { force: true });
  }
}

async function startDaemon(env: NodeJS.ProcessEnv, runtime: string): Promise<void> {
  const binary = libvirtdPath(env);
  if (!binary) {
    throw new Error(
      "no libvirt session daemon is running and libvirtd was not found in /usr/sbin, /usr/local/sbin or $LIBVIRTD_PATH: " +
        "install libvirt (Debian: libvirt-daemon-system libvirt-clients) or start one with `libvirtd --timeout=120`",
    );
  }
  const pass: NodeJS.ProcessEnv = {};
  for (const name of [
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "TZ",
    "TMPDIR",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_RUNTIME_DIR",
  ]) {
    if (env[name] !== undefined) pass[name] = env[name];
  }
  const argv = [binary, "--timeout=120"];
  const command =
    process.geteuid?.() === 0
      ? await privilegedLaunch(argv, join(runtime, "driverplug-daemon"))
      : { file: binary, args: argv.slice(1) };
  // Detached in its own session with no stdio: it outlives this process, as libvirt's daemonized spawn does.
  const child = spawn(command.file, command.args, { detached: true, stdio: "ignore", env: pass });
  child.on("error", () => undefined);
  child.unref();
}

function hintFor(mode: LibvirtMode, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (mode === "system" && (code === "ENOENT" || code === "ECONNREFUSED")) {
    return " (is libvirtd running? start it as root with `libvirtd -d`, or use qemu:///session)";
  }
  if (code === "EACCES")
    return " (this user may not use that socket; see docs/libvirt.md on qemu:///system's access model)";
  return "";
}
