// A hostile guest, bundle or local user against a machine, on real VMs (the
// test guest): the guest tries a service that listens on the host's 127.0.0.1
// only (QEMU's user network maps 10.0.2.2 to it); a bundle's kernel command
// line carries a hostfwd= text naming another port, to send `driverplug ssh`
// there; another uid holds idle connections to the forwarded SSH port, to
// lock the owner out; a guest floods its console (rdinit=/bin/yes: a "y" line
// as fast as the serial port goes). Each is blocked or bounded, with figures.
import { spawnSync } from "node:child_process";
import { promises as fs } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ClientError, launch, silentLogger, type PluginHandle } from "../../src/host/index.js";
import { expectOk, Sandbox } from "../cli/driverplug-process.js";
import { requireVmTools, testGuest, type TestGuest } from "../guest/test-guest.js";
import { killTestVms } from "../qemu/vm-cleanup.js";
import { Figures } from "./figures.js";
import { runAsOtherUser } from "./other-user.js";

const figures = new Figures("guest-attacks");
afterAll(() => figures.print());

let guest: TestGuest;
let box: Sandbox | undefined;
const plugins: PluginHandle[] = [];
const servers: Server[] = [];

beforeAll(() => {
  requireVmTools();
  guest = testGuest();
}, 600_000);

afterEach(async () => {
  for (const p of plugins.splice(0)) await p.close().catch(() => undefined);
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  if (box) {
    await killTestVms(box.root);
    await box.dispose();
    box = undefined;
  }
});

/** A bundle of the test guest's kernel and initrd with another command line. */
async function bundleWithCmdline(cmdline: string): Promise<string> {
  const dir = join(box!.root, "bundle");
  await fs.mkdir(dir);
  await fs.copyFile(guest.kernel, join(dir, "vmlinuz"));
  await fs.copyFile(guest.initrd, join(dir, "initrd.img"));
  const manifest = { name: "hostile", version: "1", kernel: "vmlinuz", initrd: "initrd.img", cmdline };
  await fs.writeFile(
    join(dir, "bundle.json"),
    JSON.stringify({ ...manifest, sshUser: "root", readiness: "virtio-serial" }),
  );
  return dir;
}

/** A loopback-only HTTP service holding a secret, as a developer's database or admin page would be. */
async function loopbackSecret(secret: string): Promise<number> {
  const server = createServer((_req, res) => res.end(secret));
  servers.push(server);
  await new Promise<void>((r) => server.listen({ host: "127.0.0.1", port: 0 }, r));
  return (server.address() as { port: number }).port;
}

async function plugin(): Promise<PluginHandle> {
  const p = await launch("qemu", { socketBaseDir: join(box!.runtimeDir, "driverplug"), logger: silentLogger });
  plugins.push(p);
  return p;
}

async function created(name: string, over: Record<string, unknown>): Promise<PluginHandle> {
  const storePath = join(box!.store, "machines", name);
  await fs.mkdir(storePath, { recursive: true, mode: 0o700 });
  const p = await plugin();
  const config = { machineName: name, storePath, bundlePath: guest.dir, cpus: 1, memoryMiB: 256, ...over };
  await p.client.setConfig({ configJson: Buffer.from(JSON.stringify(config)) });
  for await (const _ of p.client.create({})) {
    // Drained.
  }
  return p;
}

async function rssMiB(pid: number): Promise<number> {
  const text = await fs.readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(text)![1]) / 1024;
}

describe("a hostile guest", () => {
  it("cannot read a service on the host's loopback unless the machine's network is nat", async () => {
    box = await Sandbox.create();
    const secret = `loopback-secret-${process.pid}`;
    const port = await loopbackSecret(secret);
    await expectOk(box, ["create", "--driver", "qemu", "--bundle", guest.dir, "--cpus", "1", "--memory", "256", "vm1"]);
    await expectOk(box, ["start", "vm1"]);
    // busybox nc, HTTP by hand (the test guest's static wget crashes on success).
    const fetch = [
      "ssh",
      "vm1",
      "--",
      `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 10.0.2.2 ${port} || echo blocked`,
    ];
    const isolated = await expectOk(box, fetch);
    expect(isolated.stdout).not.toContain(secret);
    expect(isolated.stdout).toContain("blocked");
    figures.set("isolatedReadSecret", isolated.stdout.includes(secret) ? 1 : 0);
    // The machine's own forward (SSH) worked throughout; nat is the opt-in.
    await expectOk(box, ["stop", "vm1"]);
    await expectOk(box, ["config", "set", "vm1", "network", "nat"]);
    await expectOk(box, ["start", "vm1"]);
    const nat = await expectOk(box, fetch);
    expect(nat.stdout).toContain(secret);
    figures.set("natReadSecret", nat.stdout.includes(secret) ? 1 : 0);
    await expectOk(box, ["rm", "--force", "vm1"]);
  }, 600_000);
});

describe("another local user", () => {
  it("cannot lock the owner out of SSH by holding idle connections to the forwarded port", async () => {
    box = await Sandbox.create();
    await expectOk(box, ["create", "--driver", "qemu", "--bundle", guest.dir, "--cpus", "1", "--memory", "256", "vm4"]);
    await expectOk(box, ["start", "vm4"]);
    const info = await expectOk(box, ["ssh-info", "vm4"]);
    const port = Number(/Port:\s+(\d+)/.exec(info.stdout)![1]);
    // Ten idle connections as uid 65534: every forwarded connection reaches the guest from 10.0.2.2, and the
    // test guest's dropbear takes 5 unauthenticated connections per address.
    const flood = runAsOtherUser<{ open: number }>(
      `import { connect } from "node:net";
       const socks = [];
       for (let i = 0; i < 10; i++) { const s = connect(${port}, "127.0.0.1"); s.on("error", () => {}); socks.push(s); }
       setTimeout(() => { console.log(JSON.stringify({ open: socks.filter((s) => !s.destroyed).length })); process.exit(0); }, 30000);`,
      60_000,
    );
    await new Promise((r) => setTimeout(r, 8_000));
    // The TCP port alone: refused while they are held.
    const key = join(box.store, "machines", "vm4", "vm", "id_ed25519");
    const tcp = spawnSync(
      "ssh",
      [
        ...["-i", key, "-p", String(port), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"],
        ...["-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "root@127.0.0.1", "true"],
      ],
      { stdio: "ignore", timeout: 30_000 },
    );
    figures.set("tcpOwnerRefusedDuringFlood", tcp.status === 0 ? 0 : 1);
    // driverplug ssh: through the machine's socket, which uid 65534 cannot open.
    const owner = await box.run(["ssh", "vm4", "--", "echo", "owner in"]);
    figures.set("ownerInDuringFlood", owner.code === 0 ? 1 : 0);
    expect(owner.stderr).toBe("");
    expect(owner.stdout).toBe("owner in\n");
    expect(info.stdout).toMatch(/Socket:\s+\S+\/vm4\/vm\/ssh\.sock \(SSH for the owner only\)/);
    await flood;
    await expectOk(box, ["rm", "--force", "vm4"]);
  }, 600_000);
});

describe("a hostile bundle", () => {
  it("cannot choose the port GetSSHInfo answers with a hostfwd= text on its kernel command line", async () => {
    box = await Sandbox.create();
    const decoy = 1;
    const bundle = await bundleWithCmdline(`console=ttyS0 quiet panic=-1 x,hostfwd=tcp:127.0.0.1:${decoy}-:22`);
    const p = await created("vm2", { bundlePath: bundle });
    const config = JSON.parse(Buffer.from((await p.client.getConfig({})).configJson).toString()) as {
      sshPort: number;
    };
    const steps = p.client.start({})[Symbol.asyncIterator]();
    for (;;) {
      const { value, done } = await steps.next();
      if (done || value.progress?.step === "kernel") break;
    }
    const info = await p.client.getSshInfo({});
    figures.set("sshInfoPortIsDecoy", info.port === decoy ? 1 : 0);
    expect(info.port).toBe(config.sshPort);
    expect(info.port).not.toBe(decoy);
    await p.client.kill({});
    await steps.return?.(undefined);
  }, 300_000);

  it("with a guest that floods its console gets few progress messages, a capped log and a short error", async () => {
    box = await Sandbox.create();
    // The kernel runs busybox yes as init: "y" lines, as fast as the serial port takes them, for ever.
    const bundle = await bundleWithCmdline("console=ttyS0 panic=-1 rdinit=/bin/yes");
    const p = await created("vm3", { bundlePath: bundle, bootTimeoutMs: 45_000 });
    const rssBefore = await rssMiB(p.pid);
    let messages = 0;
    let consoleMessages = 0;
    let error: unknown;
    try {
      for await (const e of p.client.start({})) {
        messages++;
        if (["boot", "firmware", "kernel", "systemd", "cloud-init"].includes(e.progress?.step ?? "")) consoleMessages++;
      }
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ClientError);
    expect((error as ClientError).code).toBe(status.DEADLINE_EXCEEDED);
    const details = (error as ClientError).details;
    expect(details).toMatch(/its console ends: y \| y \| y \| y \| y$/);
    const vm = join(box.store, "machines", "vm3", "vm");
    const logs = (await fs.readdir(vm)).filter((n) => n.startsWith("serial.log"));
    const sizes = await Promise.all(logs.map(async (n) => (await fs.stat(join(vm, n))).size));
    const logBytes = sizes.reduce((a, b) => a + b, 0);
    const rssGrowth = (await rssMiB(p.pid)) - rssBefore;
    figures.set("progressMessages", messages);
    figures.set("consoleMessages", consoleMessages);
    figures.set("consoleLogKiB", Math.round(logBytes / 1024));
    figures.set("pluginRssGrowthMiB", rssGrowth);
    figures.set("errorChars", details.length);
    // 45 s of a flooding console: the newest line every 2 s at most, plus the phase and launch steps.
    expect(consoleMessages).toBeLessThanOrEqual(30);
    // At most two logs of 2 MiB each.
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(logs.every((n) => n === "serial.log" || n === "serial.log.1")).toBe(true);
    expect(details.length).toBeLessThan(2_000);
  }, 300_000);
});
