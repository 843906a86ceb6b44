// The remote transport: `ssh [options] -- host virt-ssh-helper <uri>`, with
// libvirt's records on ssh's stdin and stdout, as libvirt's own qemu+ssh
// client does (virNetSocketNewConnectSSH). Every value is its own argv
// element and ssh is never run through a local shell. Host keys are checked
// against one known_hosts file (the caller's pin): a new host is accepted
// and written there, a changed key makes ssh refuse, and the error says so.
import { spawn } from "node:child_process";
import { Duplex } from "node:stream";
import type { SshUri } from "./connection-uri.js";
import type { Transport } from "./transport.js";

export interface SshOptions {
  /** The known_hosts file that pins this host's key. */
  knownHostsFile: string;
  /** The ssh binary; "ssh" from PATH by default. */
  ssh?: string;
  env?: NodeJS.ProcessEnv;
}

/** The ssh argv (after the binary) that reaches `uri`'s host and runs virt-ssh-helper there. */
export function sshArgv(uri: SshUri, knownHostsFile: string): string[] {
  const argv = ["-T", "-e", "none", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new"];
  argv.push("-o", `UserKnownHostsFile=${knownHostsFile}`, "-o", "GlobalKnownHostsFile=/dev/null");
  // A dead network is noticed in about 45 s instead of TCP's many minutes.
  argv.push("-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3");
  if (uri.port) argv.push("-p", String(uri.port));
  if (uri.user) argv.push("-l", uri.user);
  if (uri.keyfile) argv.push("-i", uri.keyfile, "-o", "IdentitiesOnly=yes");
  argv.push("--", uri.host, "virt-ssh-helper", uri.remoteUri);
  return argv;
}

const STDERR_TAIL = 4096;

/** ssh's words for a changed host key, turned into what to do. */
export function explainSshFailure(uri: SshUri, knownHostsFile: string, stderr: string): string | undefined {
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/i.test(stderr)) {
    return (
      `the SSH host key of ${uri.host}${uri.port ? `:${uri.port}` : ""} is not the one pinned in ${knownHostsFile}: ` +
      `refusing to connect. If the host was reinstalled or its key rotated on purpose, check the new key ` +
      `(ssh-keyscan) and remove the old line from that file; otherwise someone may be in the middle`
    );
  }
  if (/Permission denied \(/.test(stderr)) {
    return `ssh to ${uri.host} was refused (${stderr.trim().split("\n").pop()}): check the user and keyfile= in the URI`;
  }
  if (/virt-ssh-helper: (not found|command not found)|No such file/.test(stderr)) {
    return `the remote host has no virt-ssh-helper: install libvirt's clients there (Debian: libvirt-clients)`;
  }
  return undefined;
}

export function openSshTransport(uri: SshUri, options: SshOptions): Transport {
  const child = spawn(options.ssh ?? "ssh", sshArgv(uri, options.knownHostsFile), {
    stdio: ["pipe", "pipe", "pipe"],
    env: options.env ?? process.env,
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL);
  });
  let spawnError: Error | undefined;
  const exited = new Promise<string>((resolve) => {
    child.once("error", (err) => {
      spawnError = err;
    });
    child.once("close", (code, signal) => {
      if (spawnError) return resolve(`cannot run ssh: ${spawnError.message}`);
      const explained = explainSshFailure(uri, options.knownHostsFile, stderr);
      const status = signal ? `ssh was killed by ${signal}` : `ssh exited with status ${code}`;
      const tail = stderr.trim() ? `; its stderr ends: ${stderr.trim().split("\n").slice(-3).join(" | ")}` : "";
      resolve(explained ? `${explained} (${status})` : `${status}${tail}`);
    });
  });
  const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
  // Ending our side is enough for virt-ssh-helper; the kill is for an ssh stuck connecting.
  stream.on("error", () => undefined);
  return {
    stream,
    label: `${uri.text} (over ssh)`,
    endReason: () => exited,
    close: () => {
      stream.destroy();
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    },
  };
}
