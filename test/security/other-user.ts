// Runs a small Node program as another local user (uid/gid 65534, "nobody"),
// for the tests where someone else on the machine attacks a plugin's socket.
// The program prints one JSON line, which is returned parsed.
import { spawn } from "node:child_process";

export const OTHER_UID = 65534;

export interface ConnectOutcome {
  /** "connected", or the errno code connect() failed with (EACCES, ENOENT...). */
  result: string;
}

/** Runs `code` (an ES module body that ends by printing a JSON line) as uid 65534. */
export function runAsOtherUser<T>(code: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", code], {
      uid: OTHER_UID,
      gid: OTHER_UID,
      cwd: "/",
      env: { PATH: process.env.PATH },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out.trim()) as T);
      } catch {
        reject(
          new Error(
            `the program run as uid ${OTHER_UID} ended (code ${code}, signal ${signal}) without a JSON line; stdout ${JSON.stringify(out)}, stderr ${JSON.stringify(err)}`,
          ),
        );
      }
    });
  });
}

/** connect() to a Unix socket path as uid 65534, first making `symlinkAt` -> path if given. */
export function connectAsOtherUser(path: string, symlinkAt?: string): Promise<ConnectOutcome> {
  const code = `
    import { connect } from "node:net";
    import { symlinkSync } from "node:fs";
    const target = ${JSON.stringify(path)};
    const link = ${JSON.stringify(symlinkAt ?? null)};
    let via = target;
    if (link) { symlinkSync(target, link); via = link; }
    const s = connect(via);
    const done = (result) => { s.destroy(); console.log(JSON.stringify({ result })); };
    s.once("connect", () => done("connected"));
    s.once("error", (e) => done(e.code ?? e.message));
  `;
  return runAsOtherUser<ConnectOutcome>(code);
}
