// Builds and runs the interop programs: the Go host (go-plugin from Debian's
// packages, GOPATH mode, offline), the Go plugin (grpc-go) and the Python
// host, plus the Python stubs.
// Build outputs are cached under node_modules/.cache/driverplug-interop, keyed
// by the hash of their inputs, so only the first run pays for a Go build.
// A missing tool is an error that says to run install-deps.sh: the interop
// tests fail rather than skip when the machine lacks them.
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { GOPATH_DEBIAN, goBuild, writeGoStubs } from "./go-gopath.js";

const run = promisify(execFile);

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const INTEROP = join(REPO, "test", "interop");
export const PYTHON = "/usr/bin/python3";
export const PYFAKE_PLUGIN = join(INTEROP, "python-plugin", "driverplug-driver-pyfake");
export const FAKE_PLUGIN = join(REPO, "bin", "driverplug-driver-fake");
const CACHE = join(REPO, "node_modules", ".cache", "driverplug-interop");
const INSTALL_HINT = "run test/interop/install-deps.sh (as root) to install the Debian packages the interop tests need";

export class MissingToolError extends Error {
  override name = "MissingToolError";
}

function requireFile(path: string, what: string): void {
  if (!existsSync(path)) throw new MissingToolError(`${what} is missing (${path} not found): ${INSTALL_HINT}`);
}

/** The bundled fake plugin: a clear failure until `make build` has made it. */
export function requireFakePlugin(): string {
  if (!existsSync(FAKE_PLUGIN)) {
    throw new Error(
      `${FAKE_PLUGIN} does not exist: run \`make build\` first (it makes the bundled fake driver's plugin executable)`,
    );
  }
  return FAKE_PLUGIN;
}

async function hashInputs(files: string[], extra: string): Promise<string> {
  const hash = createHash("sha256").update(extra);
  for (const file of files) hash.update(file).update(await fs.readFile(file));
  return hash.digest("hex").slice(0, 16);
}

async function protoFiles(): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(join(REPO, "proto"), { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(".proto")) out.push(join(entry.parentPath, entry.name));
  }
  return out.sort();
}

/** Moves a finished build into place; a concurrent builder that won the race is as good. */
async function publish(tmp: string, final: string): Promise<void> {
  try {
    await fs.rename(tmp, final);
  } catch (err) {
    if (!existsSync(final)) throw err;
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

export interface GoBuild {
  binary: string;
  /** False when the cached binary was reused. */
  built: boolean;
  ms: number;
}

/** The Go interop host binary (go-plugin), built on first use (GOPATH mode, no network). */
export function buildGoHost(): Promise<GoBuild> {
  return buildGo("host", "interop-host");
}

/** The Go interop plugin binary (grpc-go, no go-plugin), built on first use. */
export function buildGoPlugin(): Promise<GoBuild> {
  return buildGo("plugin", "interop-plugin");
}

async function buildGo(kind: "host" | "plugin", name: string): Promise<GoBuild> {
  const started = performance.now();
  const goVersion = await run("go", ["version"]).catch(() => {
    throw new MissingToolError(`the Go toolchain is missing (\`go version\` failed): ${INSTALL_HINT}`);
  });
  requireFile("/usr/bin/protoc", "protoc");
  requireFile("/usr/bin/protoc-gen-go", "protoc-gen-go");
  requireFile(join(GOPATH_DEBIAN, "src/github.com/hashicorp/go-plugin/client.go"), "go-plugin's Go source");
  requireFile(join(GOPATH_DEBIAN, "src/google.golang.org/grpc/server.go"), "grpc-go's Go source");
  requireFile(join(REPO, "node_modules/.bin/buf"), "buf (run `npm ci`)");

  const mainGo = join(INTEROP, "go", kind, "main.go");
  const key = await hashInputs([mainGo, ...(await protoFiles())], goVersion.stdout);
  const final = join(CACHE, `go-${kind}-${key}`);
  const binary = join(final, name);
  if (existsSync(binary)) return { binary, built: false, ms: performance.now() - started };

  await fs.mkdir(CACHE, { recursive: true });
  const tmp = await fs.mkdtemp(join(CACHE, "go-tmp-"));
  const gopath = join(tmp, "gopath");
  const pkg = join(gopath, "src", "driverplug", `interop${kind}`);
  await fs.mkdir(pkg, { recursive: true });
  await fs.copyFile(mainGo, join(pkg, "main.go"));
  await writeGoStubs(REPO, gopath, tmp);
  await goBuild(pkg, join(tmp, name), gopath, join(CACHE, "go-build")).catch(
    (err: { stderr?: string; message: string }) => {
      throw new Error(`building the Go interop ${kind} failed: ${err.stderr ?? err.message}`);
    },
  );
  await fs.rm(gopath, { recursive: true });
  await publish(tmp, final);
  return { binary, built: true, ms: performance.now() - started };
}

/** Generates the Python stubs (cached) and checks Python's gRPC imports. */
export async function preparePython(): Promise<string> {
  requireFile(PYTHON, "Python 3");
  await run(PYTHON, ["-c", "import grpc, google.protobuf, cryptography"]).catch((err: { stderr?: string }) => {
    throw new MissingToolError(
      `Python's gRPC, protobuf or cryptography module is missing (${(err.stderr ?? "").trim().split("\n").pop()}): ${INSTALL_HINT}`,
    );
  });
  const { stdout } = await run(PYTHON, [join(INTEROP, "python", "stubs.py")]).catch(
    (err: { stderr?: string; message: string }) => {
      throw new MissingToolError(`generating the Python stubs failed: ${err.stderr ?? err.message}`);
    },
  );
  return stdout.trim();
}

export interface HostRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  summary: Record<string, unknown>;
  stderr: string;
  ms: number;
}

/**
 * Runs a host program to completion and parses its JSON summary line. A host
 * that hangs is killed after timeoutMs and the test fails with its stderr.
 */
export function runHost(argv: string[], env: NodeJS.ProcessEnv, timeoutMs = 25_000): Promise<HostRun> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-20_000)));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split("\n").pop() ?? "";
      let summary: Record<string, unknown>;
      try {
        summary = JSON.parse(line) as Record<string, unknown>;
      } catch {
        reject(
          new Error(
            `${argv[0]} exited (code ${code}, signal ${signal}) without a JSON summary line; stdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-4000)}`,
          ),
        );
        return;
      }
      resolvePromise({ code, signal, summary, stderr, ms: performance.now() - started });
    });
  });
}

/** A short temp dir (socket paths must stay under 103 bytes), removed by the returned function. */
export async function shortTempDir(prefix = "dpi-"): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await fs.mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => fs.rm(path, { recursive: true, force: true }) };
}
