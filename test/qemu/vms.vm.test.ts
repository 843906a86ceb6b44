// Real virtual machines through the qemu driver, one test at a time (this one
// file holds them all: two cores cannot boot many guests at once). The guest
// is the test bundle from `make guest`; every QEMU a test starts lives under
// its own temp store and is killed through its pidfile afterwards.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { promises as fs } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { status } from "@grpc/grpc-js";
import { State } from "../../generated/driverplug/driver/v1/driver.js";
import { judgeKvm, readHostFacts } from "../../src/drivers/guest/accelerator.js";
import { sshAnswers } from "../../src/drivers/guest/ssh-probe.js";
import { pidfileStatus } from "../../src/drivers/qemu/pidfile-lock.js";
import { processGone, waitGone } from "../../src/drivers/qemu/process-exit.js";
import { qmpOnce } from "../../src/drivers/qemu/qmp-client.js";
import { ClientError, launch, silentLogger, type PluginHandle } from "../../src/host/index.js";
import { expectOk, Sandbox } from "../cli/driverplug-process.js";
import { connectAsOtherUser } from "../security/other-user.js";
import { requireVmTools, testGuest } from "../guest/test-guest.js";
import { killTestVms } from "./vm-cleanup.js";

const VM_TEST_MS = 300_000;

let guest: string;
let sandbox: Sandbox | undefined;
const plugins: PluginHandle[] = [];

beforeAll(() => {
  requireVmTools();
  guest = testGuest().dir;
}, 600_000);

afterEach(async () => {
  for (const p of plugins.splice(0)) await p.close().catch(() => undefined);
  if (sandbox) {
    await killTestVms(sandbox.root);
    await sandbox.dispose();
    sandbox = undefined;
  }
});

async function box(): Promise<Sandbox> {
  sandbox = await Sandbox.create();
  await fs.mkdir(join(sandbox.store, "machines"), { recursive: true, mode: 0o700 });
  return sandbox;
}

async function plugin(): Promise<PluginHandle> {
  const p = await launch("qemu", { socketBaseDir: join(sandbox!.runtimeDir, "driverplug"), logger: silentLogger });
  plugins.push(p);
  return p;
}

function machineConfig(name: string, over: Record<string, unknown> = {}) {
  return {
    machineName: name,
    storePath: join(sandbox!.store, "machines", name),
    bundlePath: guest,
    cpus: 1,
    memoryMiB: 256,
    bootTimeoutMs: 240_000,
    ...over,
  };
}

const json = (v: unknown) => ({ configJson: Buffer.from(JSON.stringify(v)) });

/** A plugin with the machine's config loaded, the machine created (stopped). */
async function created(name: string, over: Record<string, unknown> = {}): Promise<{ p: PluginHandle; config: Buffer }> {
  const p = await plugin();
  const dir = join(sandbox!.store, "machines", name);
  await fs.mkdir(dir, { mode: 0o700 });
  await p.client.setConfig(json(machineConfig(name, over)));
  for await (const _ of p.client.create({})) {
    // Drained: Create's progress is checked through the CLI test.
  }
  return { p, config: Buffer.from((await p.client.getConfig({})).configJson) };
}

async function loaded(config: Buffer): Promise<PluginHandle> {
  const p = await plugin();
  await p.client.setConfig({ configJson: config });
  return p;
}

const vmDir = (name: string) => join(sandbox!.store, "machines", name, "vm");

async function qemuPid(name: string): Promise<number | undefined> {
  const s = await pidfileStatus(join(vmDir(name), "qemu.pid"));
  return s.kind === "locked" ? s.pid : undefined;
}

async function state(p: PluginHandle): Promise<State> {
  return (await p.client.getState({})).state;
}

async function codeOf(promise: Promise<unknown>): Promise<number> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ClientError);
  return (err as ClientError).code;
}

/** Reads a Start stream until a step matching `until` arrives; returns the steps so far. */
async function startUntil(stream: AsyncIterable<{ progress?: { step: string; percent: number } }>, until: RegExp) {
  const steps: string[] = [];
  const it = stream[Symbol.asyncIterator]();
  for (;;) {
    const { value, done } = await it.next();
    if (done) throw new Error(`Start ended before a step matched ${until}: ${steps.join(", ")}`);
    const p = value.progress!;
    steps.push(`${p.step}:${p.percent}`);
    if (until.test(`${p.step}:${p.percent}`)) return { steps, rest: it };
  }
}

async function drain(it: AsyncIterator<unknown>): Promise<void> {
  for (;;) if ((await it.next()).done) return;
}

async function runtimeFiles(name: string): Promise<string[]> {
  const names = await fs.readdir(vmDir(name));
  return names.filter((n) => n.endsWith(".sock") || n === "qemu.pid").sort();
}

async function sshRun(port: number, key: string, command: string): Promise<string> {
  const child = spawn(
    "ssh",
    [
      ...["-i", key, "-p", String(port), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"],
      ...["-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "root@127.0.0.1", command],
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  const [code] = (await once(child, "exit")) as [number];
  expect(code).toBe(0);
  return out;
}

describe("qemu machines", () => {
  it(
    "live their whole life through the CLI: create, start with progress, ssh, status, stop twice, rm",
    async () => {
      const b = await box();
      const create = await expectOk(b, [
        "create",
        "--driver",
        "qemu",
        "--bundle",
        guest,
        "--cpus",
        "1",
        "--memory",
        "256",
        "vm1",
      ]);
      expect(create.stderr).toMatch(/key: Making the SSH key[\s\S]*disk: Making a 20 GiB disk[\s\S]*done:/);
      const start = await expectOk(b, ["start", "vm1"]);
      // Real progress, in order: launch, the serial console, readiness, SSH answering.
      expect(start.stderr).toMatch(
        /launch: QEMU running \(pid \d+\)[\s\S]*kernel: Kernel[\s\S]*ready: Guest ready after[\s\S]*ssh: SSH answers/,
      );
      expect(start.stdout).toContain("state: Running");
      expect((await expectOk(b, ["status", "vm1"])).stdout.trim()).toBe("Running");
      const info = await expectOk(b, ["ssh-info", "vm1"]);
      const port = Number(/Port:\s+(\d+)/.exec(info.stdout)![1]);
      const key = /Key path:\s+(\S+)/.exec(info.stdout)![1]!;
      expect((await b.readConfig("vm1")).config.sshPort).toBe(port);
      expect((await expectOk(b, ["ip", "vm1"])).stdout.trim()).toBe("127.0.0.1");
      expect(await sshRun(port, key, "uname -n; uname -s")).toBe("vm1\nLinux\n");
      // driverplug ssh: the command's output and its exit code, with the host key kept per machine.
      const uname = await expectOk(b, ["ssh", "vm1", "--", "uname", "-a"]);
      expect(uname.stdout).toMatch(/^Linux vm1 \S+-cloud-amd64 /);
      const failing = await b.run(["ssh", "vm1", "--", "exit", "7"]);
      expect(failing.code).toBe(7);

      // Everything is private: the directory 0700, each socket 0600, the key 0600; another uid cannot reach QMP.
      const dir = vmDir("vm1");
      expect((await fs.stat(dir)).mode & 0o777).toBe(0o700);
      expect((await fs.stat(key)).mode & 0o777).toBe(0o600);
      const sockets = (await fs.readdir(dir)).filter((n) => n.endsWith(".sock")).sort();
      expect(sockets).toEqual(["qmp-con.sock", "qmp-watch.sock", "qmp.sock", "ready.sock", "ssh.sock"]);
      for (const s of sockets) {
        const st = await fs.lstat(join(dir, s));
        expect(st.isSocket()).toBe(true);
        expect(st.mode & 0o777).toBe(0o600);
        expect(st.uid).toBe(process.geteuid!());
      }
      expect((await connectAsOtherUser(join(dir, "qmp.sock"))).result).toBe("EACCES");

      // Restart: a new QEMU, running again, reachable on the same port.
      const firstPid = await qemuPid("vm1");
      const restart = await expectOk(b, ["restart", "vm1"]);
      expect(restart.stdout).toContain("state: Running");
      const secondPid = await qemuPid("vm1");
      expect(secondPid).toBeDefined();
      expect(secondPid).not.toBe(firstPid);
      expect(await processGone(firstPid!)).toBe(true);
      expect(await sshAnswers(port)).toBe(true);

      const rm = await b.run(["rm", "vm1"]);
      expect(rm.code).not.toBe(0);
      expect(rm.stderr).toMatch(/FAILED_PRECONDITION|running; stop or kill it before removing it/);
      const pid = await qemuPid("vm1");
      expect(pid).toBeDefined();
      await expectOk(b, ["stop", "vm1"]);
      // Stop returns only once QEMU is gone, its pidfile and sockets with it.
      expect(await processGone(pid!)).toBe(true);
      expect(await runtimeFiles("vm1")).toEqual([]);
      expect((await expectOk(b, ["status", "vm1"])).stdout.trim()).toBe("Stopped");
      const again = await expectOk(b, ["stop", "vm1"]);
      expect(again.stdout).toContain("state: Stopped");
      await expectOk(b, ["rm", "vm1"]);
      expect(await b.machines()).toEqual([]);
      expect(await b.pluginDirs()).toEqual([]);
    },
    VM_TEST_MS,
  );

  it(
    "outlive a plugin SIGKILLed during Start; a VM SIGKILLed from outside reads STOPPED, is cleaned and starts again; a pause is watched and resumed; a plugin SIGKILLed during Stop leaves the true state",
    async () => {
      await box();
      const { p, config } = await created("vm2");
      const { steps } = await startUntil(p.client.start({}), /^launch:20$/);
      expect(steps).toEqual(["launch:10", "launch:20"]);
      process.kill(p.pid, "SIGKILL");
      const pid = await qemuPid("vm2");
      expect(pid).toBeDefined();

      // The next plugin sees the VM running: it was never the plugin's child.
      const p2 = await loaded(config);
      expect(await state(p2)).toBe(State.STATE_RUNNING);

      // SIGKILL from outside leaves QEMU's pidfile and sockets behind; a watcher sees the end (QEMU's monitor
      // connection ends), and reading the state cleans them.
      const watcher = p2.client.watchState({})[Symbol.asyncIterator]();
      expect((await watcher.next()).value?.state).toBe(State.STATE_RUNNING);
      process.kill(pid!, "SIGKILL");
      expect((await watcher.next()).value?.state).toBe(State.STATE_STOPPED);
      await watcher.return?.(undefined);
      expect(await waitGone(pid!, 30_000)).toBe(true);
      expect(await state(p2)).toBe(State.STATE_STOPPED);
      expect(await runtimeFiles("vm2")).toEqual([]);

      // Stopped, so its config may change; the next boot uses it.
      const changed = { ...JSON.parse(config.toString()), memoryMiB: 288 };
      await p2.client.updateConfig(json(changed));
      for await (const _ of p2.client.start({})) {
        // Drained: a full boot.
      }
      expect(await state(p2)).toBe(State.STATE_RUNNING);
      const pid2 = (await qemuPid("vm2"))!;
      const argv = (await fs.readFile(`/proc/${pid2}/cmdline`, "utf8")).split("\0");
      expect(argv[argv.indexOf("-m") + 1]).toBe("288");
      expect(await codeOf(p2.client.updateConfig(json({ ...changed, memoryMiB: 320 })))).toBe(
        status.FAILED_PRECONDITION,
      );
      const ssh = await p2.client.getSshInfo({});
      expect(await sshAnswers(ssh.port)).toBe(true);

      // Paused from outside (QMP stop): the watcher hears QEMU's STOP event; Start resumes it.
      const pauses = p2.client.watchState({})[Symbol.asyncIterator]();
      expect((await pauses.next()).value?.state).toBe(State.STATE_RUNNING);
      await qmpOnce(join(vmDir("vm2"), "qmp.sock"), "stop");
      expect((await pauses.next()).value?.state).toBe(State.STATE_PAUSED);
      expect(await state(p2)).toBe(State.STATE_PAUSED);
      for await (const _ of p2.client.start({})) {
        // Resuming reports no progress.
      }
      expect((await pauses.next()).value?.state).toBe(State.STATE_RUNNING);
      await pauses.return?.(undefined);

      // Stop through a watched plugin, SIGKILLed once Stop began.
      const watch = p2.client.watchState({})[Symbol.asyncIterator]();
      expect((await watch.next()).value?.state).toBe(State.STATE_RUNNING);
      const stopping = p2.client.stop({}).catch(() => undefined);
      expect((await watch.next()).value?.state).toBe(State.STATE_STOPPING);
      process.kill(p2.pid, "SIGKILL");
      await stopping;
      await watch.return?.(undefined);

      // The next plugin's answer matches the system: running while QEMU lives, stopped once it is gone.
      const p3 = await loaded(Buffer.from(JSON.stringify(changed)));
      const aliveBefore = !(await processGone(pid2));
      const seen = await state(p3);
      const aliveAfter = !(await processGone(pid2));
      if (aliveBefore === aliveAfter) expect(seen).toBe(aliveAfter ? State.STATE_RUNNING : State.STATE_STOPPED);
      else expect([State.STATE_RUNNING, State.STATE_STOPPED]).toContain(seen);
      await p3.client.stop({});
      expect(await processGone(pid2)).toBe(true);
      expect(await state(p3)).toBe(State.STATE_STOPPED);
      expect(await runtimeFiles("vm2")).toEqual([]);
      await p3.client.stop({});
      await p3.client.remove({});
      expect(await state(p3)).toBe(State.STATE_NONE_UNSPECIFIED);
    },
    VM_TEST_MS,
  );

  it(
    "stop at once on Kill during Start, and leave nothing half-made when Create is cancelled",
    async () => {
      await box();
      const { p, config } = await created("vm3");
      const { rest } = await startUntil(p.client.start({}), /^kernel:/);
      const pid = (await qemuPid("vm3"))!;
      await p.client.kill({});
      expect(await processGone(pid)).toBe(true);
      expect(await codeOf(drain(rest))).toBe(status.CANCELLED);
      expect(await state(p)).toBe(State.STATE_STOPPED);
      expect(await runtimeFiles("vm3")).toEqual([]);

      // A plugin given the config as it was before Create (SSH port 0: "pick one") still uses the machine's port.
      const port = (JSON.parse(config.toString()) as { sshPort: number }).sshPort;
      const early = await loaded(json(machineConfig("vm3")).configJson);
      const second = await startUntil(early.client.start({}), /^launch:20$/);
      const argv = await fs.readFile(`/proc/${(await qemuPid("vm3"))!}/cmdline`, "utf8");
      expect(argv).toContain(`hostfwd=tcp:127.0.0.1:${port}-:22`);
      await early.client.kill({});
      expect(await codeOf(drain(second.rest))).toBe(status.CANCELLED);
      await p.client.kill({});
      await p.client.remove({});
      await expect(fs.stat(vmDir("vm3"))).rejects.toThrow(/ENOENT/);

      const p2 = await plugin();
      await fs.mkdir(join(sandbox!.store, "machines", "vm4"), { mode: 0o700 });
      await p2.client.setConfig(json(machineConfig("vm4")));
      const abort = new AbortController();
      const creating = (async () => {
        for await (const event of p2.client.create({}, { signal: abort.signal })) {
          if (event.progress?.step === "key") abort.abort();
        }
      })();
      expect(await codeOf(creating)).toBe(status.CANCELLED);
      // The plugin finishes its clean-up in the background of the cancel: wait on its state, not a timer.
      for (let i = 0; i < 100 && (await state(p2)) !== State.STATE_NONE_UNSPECIFIED; i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(await state(p2)).toBe(State.STATE_NONE_UNSPECIFIED);
      for (
        let i = 0;
        i < 100 &&
        (await fs.stat(vmDir("vm4")).then(
          () => true,
          () => false,
        ));
        i++
      )
        await new Promise((r) => setTimeout(r, 100));
      await expect(fs.stat(vmDir("vm4"))).rejects.toThrow(/ENOENT/);
    },
    VM_TEST_MS,
  );

  it("read a stale pidfile naming a live unrelated process as STOPPED, and never signal that process", async () => {
    await box();
    const { p } = await created("vm5");
    const bystander = spawn("sleep", ["600"], { stdio: "ignore" });
    try {
      await fs.writeFile(join(vmDir("vm5"), "qemu.pid"), `${bystander.pid}\n`);
      expect(await state(p)).toBe(State.STATE_STOPPED);
      expect(await runtimeFiles("vm5")).toEqual([]);
      await fs.writeFile(join(vmDir("vm5"), "qemu.pid"), `${bystander.pid}\n`);
      await p.client.kill({});
      await p.client.stop({});
      expect(await processGone(bystander.pid!)).toBe(false);
      expect(await codeOf(p.client.getIp({}))).toBe(status.FAILED_PRECONDITION);
    } finally {
      bystander.kill("SIGKILL");
    }
  });

  it("refuse what cannot work before making anything: a store path too long for the sockets, kvm where KVM would hang, no bundle", async () => {
    await box();
    const p = await plugin();
    const long = join(sandbox!.store, "machines", "m".repeat(80));
    const tooLong = await p.client.setConfig(json(machineConfig("vm6", { storePath: long }))).catch((e: unknown) => e);
    expect((tooLong as ClientError).code).toBe(status.INVALID_ARGUMENT);
    expect((tooLong as ClientError).details).toMatch(
      /"storePath".*over the 107-byte limit of Unix socket addresses; use a store path of at most 89 bytes/,
    );

    await fs.mkdir(join(sandbox!.store, "machines", "vm6"), { mode: 0o700 });
    await p.client.setConfig(json(machineConfig("vm6", { bundlePath: "" })));
    const noBundle = await p.client.preCreateCheck({}).catch((e: unknown) => e);
    expect((noBundle as ClientError).code).toBe(status.FAILED_PRECONDITION);
    expect((noBundle as ClientError).details).toMatch(/no bundle or image given: pass --image <file>/);

    // What --accel kvm gets depends on this host's KVM, judged by the same probe the driver uses.
    const kvm = judgeKvm(await readHostFacts());
    await p.client.setConfig(json(machineConfig("vm6", { accelerator: "kvm" })));
    const check = p.client.preCreateCheck({});
    if (kvm.usable) await check;
    else {
      const err = (await check.catch((e: unknown) => e)) as ClientError;
      expect(err.code).toBe(status.FAILED_PRECONDITION);
      expect(err.details).toBe(`accelerator kvm was asked for but cannot work here: ${kvm.reason}`);
    }
    await p.client.setConfig(json(machineConfig("vm6")));
    await p.client.preCreateCheck({});
    expect(await fs.readdir(join(sandbox!.store, "machines", "vm6"))).toEqual([]);
  });

  it(
    "run two at once with distinct ports, recover from a taken port, and never touch each other's files",
    async () => {
      await box();
      const a = await created("vma");
      const b = await created("vmb");
      const portOf = (c: Buffer) => (JSON.parse(c.toString()) as { sshPort: number }).sshPort;
      expect(portOf(a.config)).not.toBe(portOf(b.config));
      // Someone else takes vmb's port while it is stopped.
      const squatter: Server = createServer();
      await new Promise<void>((r) => squatter.listen({ host: "127.0.0.1", port: portOf(b.config) }, r));
      try {
        const bSteps: string[] = [];
        await Promise.all([
          (async () => {
            for await (const _ of a.p.client.start({})) {
              // Drained.
            }
          })(),
          (async () => {
            for await (const e of b.p.client.start({})) bSteps.push(`${e.progress!.step}: ${e.progress!.message}`);
          })(),
        ]);
        expect(bSteps.join("\n")).toContain(`port: SSH port ${portOf(b.config)} is taken`);
      } finally {
        await new Promise<void>((r) => squatter.close(() => r()));
      }
      const sshA = await a.p.client.getSshInfo({});
      const sshB = await b.p.client.getSshInfo({});
      expect(sshB.port).not.toBe(portOf(b.config));
      expect(sshA.port).not.toBe(sshB.port);
      // The new port is kept in the config for the next start.
      expect(portOf(Buffer.from((await b.p.client.getConfig({})).configJson))).toBe(sshB.port);
      expect(sshA.keyPath.startsWith(vmDir("vma"))).toBe(true);
      expect(sshB.keyPath.startsWith(vmDir("vmb"))).toBe(true);

      // Each QEMU names only its own machine's files.
      const pidA = (await qemuPid("vma"))!;
      const pidB = (await qemuPid("vmb"))!;
      const argvA = await fs.readFile(`/proc/${pidA}/cmdline`, "utf8");
      expect(argvA).toContain(vmDir("vma"));
      expect(argvA).not.toContain(vmDir("vmb"));

      // Killing and removing one leaves the other running, its files untouched.
      const before = await fs.readdir(vmDir("vmb"));
      await a.p.client.kill({});
      await a.p.client.remove({});
      expect(await state(b.p)).toBe(State.STATE_RUNNING);
      expect(await processGone(pidB)).toBe(false);
      expect(await fs.readdir(vmDir("vmb"))).toEqual(before);
      expect(await sshAnswers(sshB.port)).toBe(true);
      await b.p.client.stop({});
      expect(await processGone(pidB)).toBe(true);
    },
    VM_TEST_MS,
  );
});
