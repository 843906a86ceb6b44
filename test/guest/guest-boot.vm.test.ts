// The test guest's side of the bundle contract, checked with qemu alone (no
// driver): it signals readiness on the dp.ready port, lets in exactly the key
// from dp.authorized_key, takes its hostname from dp.hostname, powers off on
// the ACPI power button, and keeps its SSH host key across boots.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { requireVmTools, testGuest, type TestGuest } from "./test-guest.js";

const run = promisify(execFile);

let guest: TestGuest;
let dir: string;
const pids: number[] = [];

beforeAll(() => {
  requireVmTools();
  guest = testGuest();
}, 10 * 60_000);

afterEach(() => {
  for (const pid of pids.splice(0)) {
    if (alive(pid)) process.kill(pid, "SIGKILL");
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Launches the guest daemonized, as the driver does, and returns qemu's pid. */
function launch(port: number, hostname: string): number {
  const key = readFileSync(path.join(dir, "key.pub"), "utf8").trim();
  const cmdline = `${guest.cmdline} dp.authorized_key=${Buffer.from(key).toString("base64")} dp.hostname=${hostname}`;
  execFileSync("qemu-system-x86_64", [
    ...["-machine", "q35", "-accel", "tcg", "-cpu", "max", "-smp", "2", "-m", "512"],
    ...["-nodefaults", "-no-user-config", "-display", "none"],
    ...["-kernel", guest.kernel, "-initrd", guest.initrd, "-append", cmdline],
    ...["-chardev", `socket,id=ser0,path=${dir}/serial.sock,server=on,wait=off,logfile=${dir}/serial.log`],
    ...["-serial", "chardev:ser0", "-qmp", `unix:${dir}/qmp.sock,server=on,wait=off`],
    ...["-netdev", `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:22`, "-device", "virtio-net-pci,netdev=n0"],
    ...["-drive", `file=${dir}/disk.qcow2,if=none,id=d0,format=qcow2`, "-device", "virtio-blk-pci,drive=d0"],
    ...["-device", "virtio-serial-pci", "-chardev", `socket,id=rdy,path=${dir}/ready.sock,server=on,wait=off`],
    ...["-device", "virtserialport,chardev=rdy,name=dp.ready"],
    ...["-no-reboot", "-daemonize", "-pidfile", `${dir}/qemu.pid`],
  ]);
  const pid = Number(readFileSync(path.join(dir, "qemu.pid"), "utf8").trim());
  pids.push(pid);
  return pid;
}

/** Reads the readiness port until the guest writes a line. */
function readinessLine(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path.join(dir, "ready.sock"));
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
      if (text.includes("\n")) {
        socket.destroy();
        resolve(text.slice(0, text.indexOf("\n")));
      }
    });
    socket.on("error", reject);
    socket.on("close", () => reject(new Error(`the readiness port closed after ${JSON.stringify(text)}`)));
  });
}

/** Sends one QMP command on a fresh connection and waits for its reply. */
function qmp(command: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path.join(dir, "qmp.sock"));
    let buffered = "";
    let step = 0;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const msg = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
        buffered = buffered.slice(nl + 1);
        if (step === 0 && "QMP" in msg) {
          step = 1;
          socket.write(JSON.stringify({ execute: "qmp_capabilities" }) + "\n");
        } else if (step === 1 && "return" in msg) {
          step = 2;
          socket.write(JSON.stringify({ execute: command }) + "\n");
        } else if (step === 2 && ("return" in msg || "error" in msg)) {
          socket.end();
          if ("error" in msg) reject(new Error(`QMP ${command}: ${JSON.stringify(msg.error)}`));
          else resolve(msg.return);
        }
      }
    });
    socket.on("error", reject);
  });
}

async function waitForExit(pid: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`qemu ${pid} still runs 120 s after system_powerdown`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function ssh(port: number, extra: string[], command: string) {
  return run(
    "ssh",
    [
      ...["-i", path.join(dir, "key"), "-p", String(port), "-o", "BatchMode=yes", "-o", "ConnectTimeout=60"],
      ...["-o", `UserKnownHostsFile=${dir}/known_hosts`, "-o", "HostKeyAlias=guest", ...extra],
      `${guest.sshUser}@127.0.0.1`,
      command,
    ],
    { timeout: 120_000 },
  );
}

describe("the test guest booted by qemu alone", () => {
  it("signals readiness, admits only the given key, powers off on the ACPI button, and keeps its host key", async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "dp-guest-"));
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "guest-test", "-f", path.join(dir, "key")]);
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", path.join(dir, "disk.qcow2"), "1G"]);
    const port = await freePort();

    const pid = launch(port, "vm-one");
    expect(await readinessLine()).toBe("driverplug-ready");
    expect(readFileSync(path.join(dir, "serial.log"), "utf8")).toContain("driverplug-ready");

    const first = await ssh(
      port,
      ["-o", "StrictHostKeyChecking=accept-new"],
      "uname -r; hostname; stat -c %a /root/.ssh/authorized_keys; cat /root/.ssh/authorized_keys",
    );
    const [release, hostname, mode, authorized] = first.stdout.trim().split("\n");
    // The bundle's version starts with the kernel release it was built from.
    expect(release).toMatch(/^\d+\.\d+/);
    expect(guest.version.slice(0, release?.length)).toBe(release);
    expect(hostname).toBe("vm-one");
    expect(mode).toBe("600");
    expect(authorized).toBe(readFileSync(path.join(dir, "key.pub"), "utf8").trim());

    // Public keys are the only way in.
    const refused = await ssh(
      port,
      ["-o", "StrictHostKeyChecking=yes", "-o", "PubkeyAuthentication=no", "-o", "IdentitiesOnly=yes"],
      "true",
    ).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(refused?.code).toBe(255);
    expect(refused?.stderr).toContain("Permission denied (publickey)");

    await qmp("system_powerdown");
    await waitForExit(pid);
    expect(existsSync(path.join(dir, "qemu.pid"))).toBe(false);

    // Second boot of the same disk: the host key recorded at the first one
    // still matches (strict checking), and the hostname follows the command line.
    const pid2 = launch(port, "vm-two");
    expect(await readinessLine()).toBe("driverplug-ready");
    const second = await ssh(port, ["-o", "StrictHostKeyChecking=yes"], "hostname");
    expect(second.stdout.trim()).toBe("vm-two");
    expect(statSync(path.join(dir, "known_hosts")).size).toBeGreaterThan(0);
    await qmp("system_powerdown");
    await waitForExit(pid2);
  }, 600_000);
});
