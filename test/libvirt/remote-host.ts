// A "remote" hypervisor host on this machine for the qemu+ssh tests: a second
// local user made for the test, an sshd of the test's own on 127.0.0.1 (key
// authentication only, its own host key, started and stopped here), and that
// user's libvirt session daemon, started by the test in a private mount
// namespace with /dev/kvm masked where it exists (the re-probe trap), so it
// never depends on an autostart it could not stop. dispose() stops all of it,
// kills whatever still runs as that user (its QEMUs), and deletes the user.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { kvmNeedsMasking, subreaper } from "../../src/drivers/libvirt/rpc/daemon-launch.js";
import { pickFreePort } from "../../src/drivers/guest/free-port.js";

export interface RemoteHost {
  user: string;
  uid: number;
  gid: number;
  home: string;
  port: number;
  /** The private key the client logs in with. */
  keyfile: string;
  uri: string;
  /** Restarts sshd with a new host key (the "changed host key" case). */
  changeHostKey(): Promise<void>;
  /** Kills the user's libvirt daemon (SIGKILL, as a crash) and starts it again. */
  restartDaemon(): Promise<void>;
  /** Processes running as the user now (pid, command). */
  processes(): Array<{ pid: number; comm: string }>;
  dispose(): Promise<void>;
}

function run(file: string, args: string[]): string {
  return execFileSync(file, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function waitPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve();
      });
      s.once("error", () => {
        if (Date.now() > deadline) reject(new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

function processesOf(uid: number): Array<{ pid: number; comm: string }> {
  const out: Array<{ pid: number; comm: string }> = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (statSync(`/proc/${name}`).uid !== uid) continue;
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      if (/^\d+ \(.*\) Z/.test(stat)) continue;
      out.push({ pid: Number(name), comm: readFileSync(`/proc/${name}/comm`, "utf8").trim() });
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

export async function startRemoteHost(): Promise<RemoteHost> {
  if (process.geteuid?.() !== 0)
    throw new Error("the qemu+ssh tests make a second local user and an sshd: run them as root (CI does)");
  const sshd = "/usr/sbin/sshd";
  if (!existsSync(sshd)) throw new Error("sshd is missing: run `sh scripts/install-libvirt-deps.sh` (openssh-server)");
  const dir = mkdtempSync(join(tmpdir(), "dp-rh-"));
  const user = `dplv${process.pid % 100000}`;
  const home = join(dir, "home");
  // A user left by a crashed earlier run of the same pid is not ours to keep.
  try {
    run("userdel", ["-r", "-f", user]);
  } catch {
    // None.
  }
  run("useradd", ["-M", "-d", home, "-s", "/bin/sh", user]);
  // No password, but not locked: sshd without PAM refuses locked accounts even with a key.
  run("usermod", ["-p", "*", user]);
  const uid = Number(run("id", ["-u", user]).trim());
  const gid = Number(run("id", ["-g", user]).trim());
  mkdirSync(join(home, ".ssh"), { recursive: true, mode: 0o700 });
  const keyfile = join(dir, "client_key");
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keyfile]);
  writeFileSync(join(home, ".ssh", "authorized_keys"), readFileSync(`${keyfile}.pub`), { mode: 0o600 });
  run("chown", ["-R", `${uid}:${gid}`, home]);
  run("chmod", ["755", dir]);
  run("chmod", ["700", home]);
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });

  const port = await pickFreePort();
  let sshdChild: ChildProcess | undefined;
  const startSshd = async () => {
    const hostKey = join(dir, `host_key_${Date.now()}`);
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
    const config = join(dir, "sshd_config");
    writeFileSync(
      config,
      [
        `ListenAddress 127.0.0.1`,
        `Port ${port}`,
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, "sshd.pid")}`,
        `AuthorizedKeysFile .ssh/authorized_keys`,
        `PasswordAuthentication no`,
        `KbdInteractiveAuthentication no`,
        `UsePAM no`,
        `AllowUsers ${user}`,
        `AllowTcpForwarding yes`,
        `PermitRootLogin no`,
        `LogLevel ERROR`,
      ].join("\n") + "\n",
    );
    sshdChild = spawn(sshd, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
    sshdChild.stderr!.on("data", () => undefined);
    await waitPort(port, 20_000);
  };
  const stopSshd = async () => {
    const child = sshdChild;
    sshdChild = undefined;
    if (!child || child.exitCode !== null) return;
    child.kill("SIGTERM");
    await new Promise((r) => child.once("close", r));
  };

  // The user's session daemon, started by us (masked /dev/kvm where needed) and stopped by us.
  const runtime = join(home, ".cache", "libvirt");
  const socket = join(runtime, "libvirt-sock");
  const noKvm = join(dir, "no-kvm");
  writeFileSync(noKvm, "", { mode: 0o600 });
  let daemon: ChildProcess | undefined;
  const startDaemon = async () => {
    // Under tini (a subreaper), as the driver's own daemons: QEMU's exit is reaped at once.
    const daemonArgs = [
      ...subreaper(),
      "setpriv",
      `--reuid=${uid}`,
      `--regid=${gid}`,
      "--init-groups",
      "--reset-env",
      "/usr/sbin/libvirtd",
    ];
    const script = 'set -e; if [ -n "$1" ]; then mount --bind "$1" /dev/kvm; fi; shift; exec "$@"';
    const child = spawn(
      "unshare",
      [
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        script,
        "sh",
        kvmNeedsMasking() ? noKvm : "",
        ...daemonArgs,
      ],
      {
        stdio: ["ignore", "ignore", "pipe"],
        cwd: "/",
      },
    );
    daemon = child;
    let daemonErr = "";
    child.stderr!.on("data", (c: Buffer) => (daemonErr = (daemonErr + c.toString()).slice(-2000)));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (await answers(socket)) return;
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`the test user's libvirt session daemon did not come up (${socket}): ${daemonErr}`);
      }
      await sleep(100);
    }
  };
  const stopDaemon = async (signal: NodeJS.Signals) => {
    const child = daemon;
    daemon = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await Promise.race([new Promise((r) => child.once("close", r)), sleep(20_000)]);
  };
  await startDaemon();
  await startSshd();

  const dispose = async () => {
    await stopSshd();
    await stopDaemon("SIGTERM");
    // QEMUs (and a daemon that did not stop) still running as the test user: ours alone, killed by pid.
    for (let i = 0; i < 50; i++) {
      const left = processesOf(uid);
      if (left.length === 0) break;
      for (const p of left) {
        try {
          process.kill(p.pid, "SIGKILL");
        } catch {
          // Gone.
        }
      }
      await sleep(100);
    }
    try {
      run("userdel", ["-f", user]);
    } catch {
      // Already gone.
    }
    rmSync(dir, { recursive: true, force: true });
  };

  return {
    user,
    uid,
    gid,
    home,
    port,
    keyfile,
    uri: `qemu+ssh://${user}@127.0.0.1:${port}/session?keyfile=${keyfile}`,
    changeHostKey: async () => {
      await stopSshd();
      await startSshd();
    },
    processes: () => processesOf(uid),
    restartDaemon: async () => {
      await stopDaemon("SIGKILL");
      // A client may have autostarted one meanwhile (virt-ssh-helper does): then ours stands down and that one answers.
      await startDaemon();
    },
    dispose,
  };
}
