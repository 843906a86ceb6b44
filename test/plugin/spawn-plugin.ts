// Test helper: start a real plugin executable, read its handshake line, and
// talk to it with the generated grpc-js clients. Every process, client and
// directory it makes is removed by close()/cleanup.
import { afterEach, beforeEach } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { credentials, type Client, type ServiceError } from "@grpc/grpc-js";
import { DriverServiceClient } from "../../generated/driverplug/driver/v1/driver.js";
import { parseHandshake, type Handshake } from "../../src/protocol/handshake.js";

export const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const FAKE_PLUGIN = join(REPO, "bin", "driverplug-driver-fake");
export const FIXTURES = join(REPO, "test", "fixtures", "plugins");

export const COOKIE_ENV = { DRIVERPLUG_PLUGIN: "machine-driver" };

/** A 0700 temp dir with a short path (socket paths are limited to 103 bytes). */
export async function shortTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "dp-"));
}

/** A minimal environment: nothing from the test runner's env leaks in. */
export function pluginEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...COOKIE_ENV };
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningPlugin {
  child: ChildProcess;
  handshake: Handshake;
  handshakeLine: string;
  socketPath: string;
  /** Every stderr line so far. */
  stderr: string[];
  /** Stdout after the handshake line (should stay empty). */
  laterStdout: () => string;
  exited: Promise<Exit>;
  driver(): DriverServiceClient;
  client<C extends Client>(ctor: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => C): C;
  /** SIGKILL if still running, close clients, wait for the exit. */
  close(): Promise<Exit>;
}

export interface SpawnOptions {
  command?: string;
  args?: string[];
  env: NodeJS.ProcessEnv;
  /** "pipe" keeps a stdin pipe (the lifeline); default "ignore". */
  stdin?: "pipe" | "ignore";
  timeoutMs?: number;
}

export async function spawnPlugin(options: SpawnOptions): Promise<RunningPlugin> {
  const child = spawn(options.command ?? FAKE_PLUGIN, options.args ?? [], {
    env: options.env,
    stdio: [options.stdin ?? "ignore", "pipe", "pipe"],
  });
  const stderr = collectLines(child.stderr!);
  const exited = new Promise<Exit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  let stdout = "";
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`no handshake within ${options.timeoutMs ?? 10_000} ms; stderr: ${stderr.join("\n")}`)),
      options.timeoutMs ?? 10_000,
    );
    const onData = (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      const nl = stdout.indexOf("\n");
      if (nl >= 0) {
        cleanup();
        resolve(stdout.slice(0, nl));
        stdout = stdout.slice(nl + 1);
      }
    };
    const onExit = (code: number | null, signal: string | null) =>
      fail(
        new Error(`plugin exited (code ${code}, signal ${signal}) before its handshake; stderr: ${stderr.join("\n")}`),
      );
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout!.off("data", onData);
      child.off("exit", onExit);
    };
    const fail = (err: Error) => {
      cleanup();
      child.kill("SIGKILL");
      reject(err);
    };
    child.stdout!.on("data", onData);
    child.once("exit", onExit);
  });
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  const handshake = parseHandshake(line);
  const clients: Client[] = [];
  const address = `unix:${handshake.address}`;
  const make = <C extends Client>(
    ctor: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => C,
  ): C => {
    const c = new ctor(address, credentials.createInsecure());
    clients.push(c);
    return c;
  };
  return {
    child,
    handshake,
    handshakeLine: line,
    socketPath: handshake.address,
    stderr,
    laterStdout: () => stdout,
    exited,
    driver: () => make(DriverServiceClient),
    client: make,
    async close() {
      for (const c of clients) c.close();
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      return exited;
    },
  };
}

/** Runs a plugin that is expected to exit by itself; returns its output. */
export async function runToExit(options: SpawnOptions): Promise<Exit & { stdout: string; stderr: string }> {
  const child = spawn(options.command ?? FAKE_PLUGIN, options.args ?? [], {
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 10_000);
  const exit = await new Promise<Exit>((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));
  clearTimeout(timer);
  return { ...exit, stdout, stderr };
}

function collectLines(stream: NodeJS.ReadableStream): string[] {
  const lines: string[] = [];
  let partial = "";
  stream.on("data", (chunk: Buffer) => {
    partial += chunk.toString("utf8");
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    lines.push(...parts);
  });
  return lines;
}

/** Promise form of a callback call: `await unary<R>((cb) => client.getState({}, cb))`. */
export function unary<Res>(invoke: (callback: (err: ServiceError | null, res: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => {
    invoke((err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** Collects a server stream's messages; rejects with the stream's error status. */
export function collect<T>(stream: NodeJS.ReadableStream & { cancel?: () => void }): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    stream.on("data", (m: T) => out.push(m));
    stream.on("error", reject);
    stream.on("end", () => resolve(out));
  });
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/**
 * A short temp dir per test (`sandbox.base`) and the plugins the test started
 * (`sandbox.plugins`), all closed and removed after each test.
 */
export function pluginSandbox(): { base: string; plugins: RunningPlugin[] } {
  const sandbox = { base: "", plugins: [] as RunningPlugin[] };
  beforeEach(async () => {
    sandbox.base = await shortTempDir();
  });
  afterEach(async () => {
    await Promise.all(sandbox.plugins.splice(0).map((p) => p.close()));
    await removeDir(sandbox.base);
  });
  return sandbox;
}
