// The Python plugin (driverplug-driver-pyfake) keeps the plugin protocol of
// docs/protocol.md on its own, with nothing from driverplug but the protos:
// these tests launch it directly and pin each rule from the outside.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { promises as fs } from "node:fs";
import { basename, dirname, join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { HealthCheckResponse_ServingStatus, HealthClient } from "../../generated/grpc/health/v1/health.js";
import { preparePython, PYFAKE_PLUGIN, shortTempDir } from "./toolchain.js";

const COOKIE = { DRIVERPLUG_PLUGIN: "machine-driver" };
const cleanups: Array<() => Promise<void> | void> = [];

// In beforeEach, not beforeAll: a missing tool must fail each test with the
// install hint, and vitest shows tests under a failed beforeAll as skipped.
let python: Promise<string> | undefined;
beforeEach(async () => {
  await (python ??= preparePython());
}, 120_000);

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function privateDir(mode = 0o700): Promise<string> {
  const tmp = await shortTempDir();
  cleanups.push(tmp.remove);
  const dir = join(tmp.path, "s");
  await fs.mkdir(dir);
  await fs.chmod(dir, mode);
  return dir;
}

interface Launched {
  child: ChildProcessWithoutNullStreams;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

function launch(env: NodeJS.ProcessEnv): Launched {
  const clean: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [
    "DRIVERPLUG_PLUGIN",
    "PLUGIN_PROTOCOL_VERSIONS",
    "PLUGIN_UNIX_SOCKET_DIR",
    "MACHINE_PLUGIN_SOCKET_DIR",
    "PLUGIN_MULTIPLEX_GRPC",
    "PLUGIN_CLIENT_CERT",
  ]) {
    delete clean[name];
  }
  const child = spawn(PYFAKE_PLUGIN, [], { env: { ...clean, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  return { child, exited, stderr: () => stderr };
}

/** The first stdout line, or null when stdout closes without one. */
function firstLine(stdout: NodeJS.ReadableStream): Promise<string | null> {
  return new Promise((resolve) => {
    let text = "";
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      const end = text.indexOf("\n");
      if (end < 0) return;
      stdout.off("data", onData);
      stdout.resume(); // without a data listener the stream would pause and never end
      resolve(text.slice(0, end));
    };
    stdout.on("data", onData);
    stdout.once("end", () => resolve(null));
  });
}

/** The first n stdout lines. */
function linesOf(stdout: NodeJS.ReadableStream, n: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      const lines = text.split("\n");
      if (lines.length <= n) return;
      stdout.off("data", onData);
      stdout.resume(); // without a data listener the stream would pause and never end
      resolve(lines.slice(0, n));
    };
    stdout.on("data", onData);
    stdout.once("end", () => reject(new Error(`stdout ended after ${JSON.stringify(text)}, before ${n} lines`)));
  });
}

async function startServing(env: NodeJS.ProcessEnv) {
  const plugin = launch({ ...COOKIE, PLUGIN_PROTOCOL_VERSIONS: "1", ...env });
  const line = await firstLine(plugin.child.stdout);
  if (line === null) {
    const exit = await plugin.exited;
    throw new Error(`the plugin printed no handshake (exit ${JSON.stringify(exit)}): ${plugin.stderr()}`);
  }
  return { ...plugin, line, fields: line.split("|") };
}

function healthCheck(socket: string): Promise<HealthCheckResponse_ServingStatus> {
  const client = new HealthClient(`unix:${socket}`, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.check({ service: "plugin" }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res!.status);
    });
  });
}

describe("pyfake refuses to run outside a host", () => {
  test("without the magic cookie it prints a human message on stderr, nothing on stdout, and exits 1", async () => {
    const plugin = launch({});
    const line = await firstLine(plugin.child.stdout);
    expect(line).toBeNull();
    expect(await plugin.exited).toEqual({ code: 1, signal: null });
    expect(plugin.stderr()).toContain("This is a driverplug driver plugin");
    expect(plugin.stderr()).toContain("DRIVERPLUG_PLUGIN=machine-driver");
  });

  test("with no common protocol version it names both lists and exits 1", async () => {
    const plugin = launch({ ...COOKIE, PLUGIN_PROTOCOL_VERSIONS: "2,3", PLUGIN_UNIX_SOCKET_DIR: await privateDir() });
    expect(await firstLine(plugin.child.stdout)).toBeNull();
    expect((await plugin.exited).code).toBe(1);
    expect(plugin.stderr()).toContain("this plugin speaks [1], the host offers [2, 3]");
  });
});

describe("pyfake's socket directory checks", () => {
  test("a group-accessible directory is refused with the chmod that fixes it, and nothing is created in it", async () => {
    const dir = await privateDir(0o750);
    const plugin = launch({ ...COOKIE, PLUGIN_UNIX_SOCKET_DIR: dir });
    expect((await plugin.exited).code).toBe(1);
    expect(plugin.stderr()).toContain(`chmod 0700 ${dir}`);
    expect(await fs.readdir(dir)).toEqual([]);
  });

  test("a directory owned by another user is refused", async () => {
    const dir = await privateDir();
    await fs.chown(dir, 65534, 65534);
    const plugin = launch({ ...COOKIE, PLUGIN_UNIX_SOCKET_DIR: dir });
    expect((await plugin.exited).code).toBe(1);
    expect(plugin.stderr()).toContain("is owned by uid 65534");
  });

  test("a symlink to a private directory is refused", async () => {
    const dir = await privateDir();
    const link = join(dirname(dir), "link");
    await fs.symlink(dir, link);
    const plugin = launch({ ...COOKIE, PLUGIN_UNIX_SOCKET_DIR: link });
    expect((await plugin.exited).code).toBe(1);
    expect(plugin.stderr()).toContain("is a symlink");
  });

  test("a socket path over 103 bytes is refused with a hint to use a shorter directory", async () => {
    const deep = join(await privateDir(), "d".repeat(80));
    await fs.mkdir(deep, { mode: 0o700 });
    const plugin = launch({ ...COOKIE, PLUGIN_UNIX_SOCKET_DIR: deep });
    expect((await plugin.exited).code).toBe(1);
    expect(plugin.stderr()).toContain("103-byte limit");
  });

  test("a missing MACHINE_PLUGIN_SOCKET_DIR base directory is created 0700", async () => {
    const base = join(await privateDir(), "base");
    const plugin = await startServing({ MACHINE_PLUGIN_SOCKET_DIR: base });
    expect(dirname(plugin.fields[3]!)).toBe(base);
    expect((await fs.stat(base)).mode & 0o777).toBe(0o700);
  });
});

describe("pyfake's socket and handshake", () => {
  test('prints 1|1|unix|<path>|grpc| and serves Health "plugin" on a 0600 socket with a per-process name', async () => {
    const dir = await privateDir();
    const plugin = await startServing({ PLUGIN_UNIX_SOCKET_DIR: dir });
    expect(plugin.fields).toHaveLength(6);
    expect(plugin.fields.slice(0, 3)).toEqual(["1", "1", "unix"]);
    expect(plugin.fields.slice(4)).toEqual(["grpc", ""]);
    const socket = plugin.fields[3]!;
    expect(dirname(socket)).toBe(dir);
    expect(basename(socket)).toMatch(new RegExp(`^pyfake-${plugin.child.pid}-[0-9a-f]{8}\\.sock$`));
    const st = await fs.lstat(socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(await healthCheck(socket)).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  test("two plugins sharing a directory get different sockets", async () => {
    const dir = await privateDir();
    const [a, b] = await Promise.all([
      startServing({ PLUGIN_UNIX_SOCKET_DIR: dir }),
      startServing({ PLUGIN_UNIX_SOCKET_DIR: dir }),
    ]);
    expect(a.fields[3]).not.toBe(b.fields[3]);
    expect((await fs.readdir(dir)).sort()).toEqual([basename(a.fields[3]!), basename(b.fields[3]!)].sort());
  });

  test("prints a 7th field only when PLUGIN_MULTIPLEX_GRPC is set", async () => {
    const plugin = await startServing({ PLUGIN_UNIX_SOCKET_DIR: await privateDir(), PLUGIN_MULTIPLEX_GRPC: "true" });
    expect(plugin.fields).toHaveLength(7);
    expect(plugin.fields[6]).toBe("false");
  });
});

describe("pyfake's lifecycle signals", () => {
  test("ignores SIGINT, and on SIGTERM exits 0 and removes its socket", async () => {
    const dir = await privateDir();
    const plugin = await startServing({ PLUGIN_UNIX_SOCKET_DIR: dir });
    const socket = plugin.fields[3]!;
    plugin.child.kill("SIGINT");
    // Still serving after the SIGINT: a call made afterwards succeeds.
    expect(await healthCheck(socket)).toBe(HealthCheckResponse_ServingStatus.SERVING);
    plugin.child.kill("SIGTERM");
    expect(await plugin.exited).toEqual({ code: 0, signal: null });
    expect(await fs.readdir(dir)).toEqual([]);
  });

  test("stops and removes its socket when its parent process dies", async () => {
    const dir = await privateDir();
    // A shell parent that starts the plugin, prints its pid and then is killed.
    const parent = spawn("/bin/sh", ["-c", `"${PYFAKE_PLUGIN}" & echo "$!"; wait`], {
      env: { ...process.env, ...COOKIE, PLUGIN_PROTOCOL_VERSIONS: "1", PLUGIN_UNIX_SOCKET_DIR: dir },
      stdio: ["ignore", "pipe", "ignore"],
    });
    const parentExited = new Promise((resolve) => parent.once("exit", resolve));
    cleanups.push(async () => {
      if (parent.exitCode === null && parent.signalCode === null) parent.kill("SIGKILL");
      await parentExited;
    });
    // The plugin inherits the shell's stdout, so its end means the plugin exited too.
    const stdoutEnded = new Promise((resolve) => parent.stdout.once("end", resolve));
    const [pidLine, handshake] = await linesOf(parent.stdout, 2);
    const pid = Number(pidLine);
    expect(handshake!.split("|")[3]!.startsWith(`${dir}/`)).toBe(true);
    cleanups.push(() => {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone, as it should be
      }
    });
    parent.kill("SIGKILL");
    await parentExited;
    await stdoutEnded;
    await waitForProcessGone(pid);
    expect(await fs.readdir(dir)).toEqual([]);
  });
});

/**
 * Waits for a process that is not our child to exit. Orphans go to pid 1,
 * which may leave them as zombies, so a zombie counts as exited. No exit
 * event exists for a non-child, hence the short poll of /proc.
 */
async function waitForProcessGone(pid: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (stat === "" || state === "Z" || state === "X") return;
    if (Date.now() > deadline)
      throw new Error(`process ${pid} still runs (state ${state}) ${timeoutMs} ms after its parent died`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
