// The host programs the drivers run (QEMU, qemu-img, ssh-keygen, an ISO
// maker): found on PATH, run with no stdin (a tool that asks a question, such
// as ssh-keygen's "Overwrite (y/n)?", reads end-of-file and fails at once
// instead of waiting for an answer nobody can give), a bounded output and a
// time limit, so a failure's message can quote what the tool said.
import { spawn } from "node:child_process";
import { constants, promises as fs } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

/** The absolute path of an executable, or undefined when PATH has none. */
export async function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const candidates = isAbsolute(name)
    ? [name]
    : (env.PATH ?? "")
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, name));
  for (const path of candidates) {
    try {
      await fs.access(path, constants.X_OK);
      if ((await fs.stat(path)).isFile()) return path;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

export class ToolError extends Error {
  override name = "ToolError";
}

export interface ToolOptions {
  signal?: AbortSignal;
  cwd?: string;
  /** Killed (SIGKILL) after this long; 60 s by default. */
  timeoutMs?: number;
  /** Output kept per stream; what goes past it is dropped. 4 MiB by default. */
  maxOutputBytes?: number;
}

/** Runs a tool to completion; rejects with its exit status and the tail of its stderr. */
export function runTool(
  file: string,
  args: readonly string[],
  options: ToolOptions = {},
): Promise<{ stdout: string; stderr: string }> {
  const limit = options.maxOutputBytes ?? 4 * 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const what = `${file} ${args.slice(0, 3).join(" ")}...`;
  return new Promise((resolve, reject) => {
    options.signal?.throwIfAborted();
    const child = spawn(file, [...args], {
      cwd: options.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C" },
    });
    const out = { stdout: new Bounded(limit), stderr: new Bounded(limit) };
    child.stdout.on("data", (c: Buffer) => out.stdout.add(c));
    child.stderr.on("data", (c: Buffer) => out.stderr.add(c));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    const onAbort = () => child.kill("SIGKILL");
    options.signal?.addEventListener("abort", onAbort, { once: true });
    let spawnError: Error | undefined;
    child.once("error", (err) => (spawnError = err));
    child.once("close", (code, sig) => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      const stdout = out.stdout.text();
      const stderr = out.stderr.text();
      if (options.signal?.aborted) return reject(options.signal.reason);
      if (spawnError) return reject(new ToolError(`${what} could not run: ${spawnError.message}`));
      if (timedOut) return reject(new ToolError(`${what} did not finish within ${Math.round(timeoutMs / 1000)} s`));
      if (code === 0) return resolve({ stdout, stderr });
      // A question (ssh-keygen's "Overwrite (y/n)?") goes to stdout: quote it when stderr is silent.
      const said = (stderr.trim() || stdout.trim()).split("\n").slice(-3).join(" | ").slice(-400);
      const how = sig ? `was killed by ${sig}` : `exited with code ${code}`;
      reject(new ToolError(`${what} failed (${how})${said ? `: ${said}` : ""}`));
    });
  });
}

/** Keeps the first `limit` bytes of a stream. */
class Bounded {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}
  add(chunk: Buffer): void {
    if (this.size >= this.limit) return;
    const part = chunk.subarray(0, this.limit - this.size);
    this.chunks.push(part);
    this.size += part.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}
