// What the driver does over plain ssh to a remote hypervisor host, besides
// the libvirt connection itself: one command with a fixed argv (where the
// remote user's home is, for the machine's storage pool), and a probe of
// the guest's forwarded SSH port on the remote loopback (ssh -W), so that
// readiness works when the forward is only reachable from there. Same
// options as the connection (ssh-transport.ts): batch mode, the machine's
// pinned known_hosts, argv elements only.
import { spawn } from "node:child_process";
import type { SshUri } from "./rpc/connection-uri.js";
import { explainSshFailure, sshArgv } from "./rpc/ssh-transport.js";

function baseArgv(uri: SshUri, knownHosts: string): string[] {
  // sshArgv ends with "--", host, "virt-ssh-helper", uri: keep the options and the host.
  const argv = sshArgv(uri, knownHosts);
  return argv.slice(0, argv.indexOf("--"));
}

/** Runs `command` (fixed words, no shell syntax) on the remote host; resolves with its stdout. */
export function remoteCommand(uri: SshUri, knownHosts: string, command: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", [...baseArgv(uri, knownHosts), "--", uri.host, ...command], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out = (out + c.toString()).slice(-65536)));
    child.stderr.on("data", (c: Buffer) => (err = (err + c.toString()).slice(-4096)));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) return resolve(out);
      reject(
        new Error(
          explainSshFailure(uri, knownHosts, err) ??
            `ssh ${uri.host} ${command.join(" ")} exited with ${code}: ${err.trim().slice(-400)}`,
        ),
      );
    });
  });
}

/** The remote user's home directory, checked to be a plain absolute path. */
export async function remoteHome(uri: SshUri, knownHosts: string): Promise<string> {
  const home = (await remoteCommand(uri, knownHosts, ["printenv", "HOME"])).trim();
  if (!/^\/[A-Za-z0-9._/+-]*$/.test(home))
    throw new Error(
      `the remote host gave ${JSON.stringify(home.slice(0, 100))} as its HOME, which is not a plain absolute path`,
    );
  return home;
}

/** True once an SSH server answers at host:port as seen from the remote host (checked through ssh -W). */
export function sshAnswersVia(
  uri: SshUri,
  knownHosts: string,
  port: number,
  timeoutMs = 5_000,
  host = "127.0.0.1",
): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn("ssh", [...baseArgv(uri, knownHosts), "-W", `${host}:${port}`, "--", uri.host], {
      stdio: ["pipe", "pipe", "ignore"],
    });
    let got = "";
    const done = (ok: boolean) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    child.stdout.on("data", (c: Buffer) => {
      got += c.toString("latin1");
      if (got.length >= 4) done(got.startsWith("SSH-"));
    });
    child.on("error", () => done(false));
    child.on("close", () => done(false));
  });
}
