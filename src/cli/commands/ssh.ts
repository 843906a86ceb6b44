// `driverplug ssh <machine> [-- command...]`: runs the system's ssh with what
// the machine's GetSSHInfo returns, and exits with ssh's exit code. The plugin
// is closed before ssh starts (a session may last hours and must not hold it).
// Host keys are remembered per machine, in a known_hosts file in the machine's
// directory under the machine's name (so a new port keeps the entry, and
// `driverplug rm` forgets it): the first connection records the key, a later
// different key is refused. Never a prompt: BatchMode. When the driver gives
// a Unix socket (only the machine's owner can open it), ssh goes through it
// (ssh-proxy.ts) instead of the TCP port every local user can reach, and
// sessions share one connection (ControlMaster), since such a socket carries
// one at a time.
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { Command } from "commander";
import type { CliContext, Io } from "../cli-context.js";
import { CliError, ExitWith } from "../cli-error.js";
import { timeoutOption } from "../command-timeout.js";
import { checkMachineName } from "../machine-name.js";
import { withMachine } from "../machine-session.js";
import { SOCKET_PATIENCE_MS, proxyCommand as socketProxyCommand } from "../ssh-proxy.js";

export const KNOWN_HOSTS_FILE = "ssh_known_hosts";

export interface SshJump {
  hostname: string;
  port: number;
  username: string;
  keyPath: string;
  knownHostsPath: string;
}

export interface SshInfo {
  hostname: string;
  port: number;
  username: string;
  keyPath: string;
  jump?: SshJump | undefined;
  /** A Unix socket on this host carrying the SSH server; "" for none. */
  unixSocketPath?: string;
}

/** The multiplexing socket of a machine's sessions, next to its known_hosts. */
export const CONTROL_SOCKET = "ssh-mux";
/** ssh binds the ControlPath with a 17-character temporary suffix first; sun_path holds 103 bytes on macOS. */
const CONTROL_PATH_MAX = 103 - 17;

/**
 * Paths that go into the jump's ProxyCommand, which ssh runs through a shell:
 * only characters no shell reads specially.
 */
const PLAIN_PATH = /^\/[A-Za-z0-9._/+-]+$/;

// The plugin's answer becomes ssh's arguments, so it is untrusted input: a
// username or hostname starting with "-" would be read as an ssh option.
const USERNAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;
const HOSTNAME = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[?[0-9A-Fa-f:.]+\]?)$/;

/** ssh's argument list for a machine; throws a CliError naming any unusable field of the driver's answer. */
export function sshArgs(machine: string, info: SshInfo, knownHosts: string, command: readonly string[]): string[] {
  const bad = (what: string, value: unknown) =>
    new CliError(
      `the driver's GetSSHInfo for machine ${JSON.stringify(machine)} has an unusable ${what} ${JSON.stringify(value)}: the driver is at fault, report it to its author`,
    );
  if (!HOSTNAME.test(info.hostname) || info.hostname.startsWith("-")) throw bad("hostname", info.hostname);
  if (!Number.isInteger(info.port) || info.port < 1 || info.port > 65535) throw bad("port", info.port);
  if (!USERNAME.test(info.username)) throw bad("username", info.username);
  if (info.keyPath !== "" && (!isAbsolute(info.keyPath) || /[\n\r\0]/.test(info.keyPath)))
    throw bad("key path", info.keyPath);
  const socket = info.unixSocketPath ?? "";
  if (socket !== "" && (!isAbsolute(socket) || /[\n\r\0]/.test(socket))) throw bad("Unix socket path", socket);
  const host = info.hostname.replace(/^\[(.*)\]$/, "$1");
  if (socket !== "" && info.jump) throw bad("Unix socket path (with a jump host)", socket);
  const control = join(dirname(knownHosts), CONTROL_SOCKET);
  const viaSocket =
    socket === ""
      ? []
      : [
          ...["-o", `ProxyCommand=${socketProxyCommand(socket)}`],
          ...(Buffer.byteLength(control) <= CONTROL_PATH_MAX
            ? [
                "-o",
                "ControlMaster=auto",
                "-o",
                `ControlPath=${control.replaceAll("%", "%%")}`,
                "-o",
                "ControlPersist=no",
              ]
            : []),
        ];
  const connectTimeout = socket === "" ? 30 : SOCKET_PATIENCE_MS / 1000 + 30;
  const jump = info.jump ? [`-o`, `ProxyCommand=${proxyCommand(info.jump, bad)}`] : [];
  return [
    ...viaSocket,
    ...jump,
    ...(info.keyPath !== "" ? ["-i", info.keyPath, "-o", "IdentitiesOnly=yes"] : []),
    ...["-p", String(info.port), "-l", info.username],
    // A guest that accepts the connection but never answers fails in 30 s; through a socket, the proxy
    // waits for a fresh server's banner (ssh-proxy.ts) and gives up on its own first.
    ...["-o", "BatchMode=yes", "-o", `ConnectTimeout=${connectTimeout}`, "-o", "StrictHostKeyChecking=accept-new"],
    ...["-o", `UserKnownHostsFile=${knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null"],
    ...["-o", `HostKeyAlias=driverplug-${machine}`, "-o", "LogLevel=ERROR"],
    // "--" ends ssh's options, so the destination is never read as one.
    "--",
    host,
    ...command,
  ];
}

/**
 * ssh to the jump host with its pinned known_hosts (strict: a changed key is
 * refused, with ssh's message naming the file), forwarding stdio to the guest.
 */
function proxyCommand(jump: SshJump, bad: (what: string, value: unknown) => CliError): string {
  if (!HOSTNAME.test(jump.hostname) || jump.hostname.startsWith("-")) throw bad("jump hostname", jump.hostname);
  if (!Number.isInteger(jump.port) || jump.port < 0 || jump.port > 65535) throw bad("jump port", jump.port);
  if (jump.username !== "" && !USERNAME.test(jump.username)) throw bad("jump username", jump.username);
  for (const [what, path] of [
    ["jump key path", jump.keyPath],
    ["jump known_hosts path", jump.knownHostsPath],
  ] as const) {
    if (path !== "" && !PLAIN_PATH.test(path)) throw bad(what, path);
  }
  const words = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=30", "-o", "LogLevel=ERROR"];
  if (jump.knownHostsPath !== "")
    words.push(
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      `UserKnownHostsFile=${jump.knownHostsPath}`,
      "-o",
      "GlobalKnownHostsFile=/dev/null",
    );
  if (jump.keyPath !== "") words.push("-i", jump.keyPath, "-o", "IdentitiesOnly=yes");
  words.push("-p", String(jump.port || 22));
  if (jump.username !== "") words.push("-l", jump.username);
  words.push("-W", "%h:%p", "--", jump.hostname.replace(/^\[(.*)\]$/, "$1"));
  return words.join(" ");
}

/** Runs ssh; resolves with its exit code (128 + n when a signal ended it). */
function runSsh(io: Io, args: readonly string[]): Promise<number> {
  const ownStdio = io.stdout === process.stdout && io.stderr === process.stderr;
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", args, {
      // ssh runs a ProxyCommand with $SHELL: a POSIX shell reads the quoting ssh-proxy.ts writes.
      env: { ...io.env, SHELL: "/bin/sh" },
      stdio: ownStdio ? "inherit" : ["inherit", "pipe", "pipe"],
    });
    if (!ownStdio) {
      child.stdout?.pipe(io.stdout, { end: false });
      child.stderr?.pipe(io.stderr, { end: false });
    }
    // Ctrl-C reaches ssh itself (same process group): driverplug waits for
    // ssh to end and reports its exit code.
    child.on("error", (err: NodeJS.ErrnoException) => {
      reject(
        err.code === "ENOENT"
          ? new CliError(`ssh is not installed (or not on PATH): install the OpenSSH client (Debian: openssh-client)`)
          : err,
      );
    });
    child.on("close", (code, signal) => {
      resolve(code ?? 128 + (signal !== null ? constants.signals[signal] : 0));
    });
  });
}

export function sshCommand(ctx: () => CliContext): Command {
  return new Command("ssh")
    .description("open an SSH session to a running machine, or run a command in it (after --)")
    .argument("<machine>", "the machine's name")
    .argument("[command...]", "the command to run, after --; none opens a shell")
    .addOption(timeoutOption("query"))
    .action(async (machine: string, command: string[], opts: { timeout: number }) => {
      const c = ctx();
      const name = checkMachineName(machine);
      const session = { mutating: false, timeoutMs: opts.timeout * 1000 };
      const info = await withMachine(c, name, session, (m) => m.client.getSshInfo({}, m.call));
      const args = sshArgs(name, info, join(c.store.machineDir(name), KNOWN_HOSTS_FILE), command);
      const code = await runSsh(c.io, args);
      if (code !== 0) throw new ExitWith(code);
    });
}
