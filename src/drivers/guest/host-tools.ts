// The host programs the qemu driver runs (QEMU, qemu-img, ssh-keygen, an ISO
// The host programs the drivers run (QEMU, qemu-img, ssh-keygen, an ISO
// output so a failure's message can quote what the tool said.
import { execFile } from "node:child_process";
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

/** Runs a tool to completion; rejects with its exit status and the tail of its stderr. */
export function runTool(
  file: string,
  args: readonly string[],
  options: { signal?: AbortSignal; cwd?: string; timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      {
        cwd: options.cwd,
        signal: options.signal,
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 4 * 1024 * 1024,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C" },
      },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        if (options.signal?.aborted) return reject(options.signal.reason);
        const said = `${stderr}`.trim().split("\n").slice(-3).join(" | ").slice(-400);
        reject(new ToolError(`${file} ${args.slice(0, 3).join(" ")}... failed: ${said || err.message}`));
      },
    );
  });
}
