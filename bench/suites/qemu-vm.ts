// A real VM through the qemu driver against the same qemu command line run
// by hand, round by round: Start to ready (the readiness line, then the SSH
// server's banner), GetState while it runs, and Stop of a booted guest
// against system_powerdown to qemu's exit. The hand side replays the argv the
// driver launched (read from /proc), with its own directory and port.
import { execFile, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { once } from "node:events";
import net from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { Writable } from "node:stream";
import { launch, silentLogger } from "../../src/host/index.js";
import { runCli } from "../../src/cli/run-cli.js";
import type { Results } from "../results.js";
import { alternate, field } from "../rounds.js";
import { median, medianRatio, quantile } from "../stats.js";

const MACHINE = "bench-vm";
/** A real cloud image under TCG takes minutes: the bench's waits allow ten. */
const BOOT_TIMEOUT_MS = 600_000;
const run = promisify(execFile);

interface Round {
  startMs: number;
  stopMs: number;
}

/** Runs the CLI in-process; throws with its output when it fails. */
export async function cli(store: string, argv: string[]): Promise<void> {
  let text = "";
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString("utf8");
      done();
    },
  });
  const code = await runCli(argv, { stdout: sink, stderr: sink, env: { ...process.env, DRIVERPLUG_STORE: store } });
  if (code !== 0) throw new Error(`driverplug ${argv.join(" ")} exited ${code}: ${text.trim()}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The qemu process whose command line names files in `dir`, with its argv. */
export function findQemu(dir: string): { pid: number; argv: string[] } {
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").slice(0, -1);
    } catch {
      continue;
    }
    if (argv[0]?.includes("qemu-system") && argv.some((a) => a.includes(dir))) return { pid: Number(entry), argv };
  }
  throw new Error(`no qemu process names files under ${dir}`);
}

async function waitForExit(pid: number, what: string): Promise<void> {
  const deadline = Date.now() + BOOT_TIMEOUT_MS;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`${what}: qemu ${pid} did not exit`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One attempt: the first line the guest writes on the readiness socket. */
function readLine(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
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
    socket.on("close", () => reject(new Error(`${path} closed after ${JSON.stringify(text)}`)));
  });
}

/** The readiness line, once qemu has made the socket (it does so while it sets up). */
async function readinessLine(path: string): Promise<string> {
  const deadline = Date.now() + BOOT_TIMEOUT_MS;
  for (;;) {
    try {
      return await readLine(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== "ENOENT" && code !== "ECONNREFUSED") || Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves once an SSH server answers on 127.0.0.1:port with its banner. */
async function sshBanner(port: number): Promise<void> {
  const deadline = Date.now() + BOOT_TIMEOUT_MS;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.setTimeout(5_000, () => socket.destroy());
      socket.once("data", (b: Buffer) => {
        socket.destroy();
        resolve(b.toString("latin1").startsWith("SSH-"));
      });
      socket.once("error", () => resolve(false));
      socket.once("close", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`no SSH banner on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** system_powerdown over a fresh QMP connection. */
function qmpPowerdown(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
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
          socket.write('{"execute":"qmp_capabilities"}\n');
        } else if (step === 1 && "return" in msg) {
          step = 2;
          socket.write('{"execute":"system_powerdown"}\n');
        } else if (step === 2 && "return" in msg) {
          socket.end();
          resolve();
        } else if ("error" in msg) {
          socket.destroy();
          reject(new Error(`QMP: ${JSON.stringify(msg.error)}`));
        }
      }
    });
    socket.on("error", reject);
  });
}

/** The value of `key=` in a qemu option string such as "socket,id=rdy,path=/x". */
function optionValue(option: string, key: string): string | undefined {
  return option
    .split(",")
    .find((p) => p.startsWith(`${key}=`))
    ?.slice(key.length + 1);
}

/** The same qemu, by hand: the driver's argv with another directory and port. */
export class HandVm {
  private pid = 0;
  private exited: Promise<unknown> | undefined;
  constructor(
    private readonly argv: string[],
    private readonly dir: string,
    private readonly port: number,
  ) {}

  private after(flag: string, pick: (value: string) => boolean): string {
    for (let i = 0; i < this.argv.length - 1; i++)
      if (this.argv[i] === flag && pick(this.argv[i + 1]!)) return this.argv[i + 1]!;
    throw new Error(`the driver's qemu command line has no ${flag} the bench can use`);
  }

  get readySocket(): string {
    const port = this.after("-device", (v) => v.includes("name=dp.ready"));
    const id = optionValue(port, "chardev");
    const chardev = this.after("-chardev", (v) => optionValue(v, "id") === id);
    return optionValue(chardev, "path")!;
  }

  /** The first QMP monitor: -qmp unix:PATH, or -mon chardev=ID,mode=control on a socket chardev. */
  get qmpSocket(): string {
    const qmp = this.argv.indexOf("-qmp");
    if (qmp >= 0) return this.argv[qmp + 1]!.replace(/^unix:/, "").split(",")[0]!;
    const mon = this.after("-mon", (v) => optionValue(v, "mode") === "control");
    const id = optionValue(mon, "chardev");
    return optionValue(
      this.after("-chardev", (v) => optionValue(v, "id") === id),
      "path",
    )!;
  }

  async start(): Promise<number> {
    const t0 = performance.now();
    const [exe, ...args] = this.argv;
    if (args.includes("-daemonize")) {
      await run(exe!, args, { timeout: BOOT_TIMEOUT_MS });
      this.pid = Number(
        readFileSync(
          this.after("-pidfile", () => true),
          "utf8",
        ).trim(),
      );
    } else {
      // As the driver runs it: detached, not waited on by a shell.
      const child = spawn(exe!, args, { detached: true, stdio: "ignore" });
      child.unref();
      this.pid = child.pid!;
      this.exited = once(child, "exit");
    }
    const line = await readinessLine(this.readySocket);
    if (line !== "driverplug-ready") throw new Error(`unexpected readiness line ${JSON.stringify(line)}`);
    await sshBanner(this.port);
    return performance.now() - t0;
  }

  async stop(): Promise<number> {
    const t0 = performance.now();
    await qmpPowerdown(this.qmpSocket);
    // A child of ours is a zombie (kill(pid, 0) succeeds) until it is reaped: wait for its exit event.
    if (this.exited) await this.exited;
    else await waitForExit(this.pid, "hand-run qemu after system_powerdown");
    return performance.now() - t0;
  }

  kill(): void {
    if (this.pid !== 0 && alive(this.pid)) process.kill(this.pid, "SIGKILL");
  }

  /** The running qemu's pid (0 before the first start). */
  get qemuPid(): number {
    return this.pid;
  }

  /** Where the hand-run copy keeps its files. */
  get directory(): string {
    return this.dir;
  }
}

export async function runQemuVm(
  bundle: string,
  dir: string,
  opts: { rounds: number; getStateCalls: number },
  results: Results,
): Promise<void> {
  const store = join(dir, "store");
  const machineDir = join(store, "machines", MACHINE);
  await cli(store, ["create", "--driver", "qemu", "--bundle", bundle, MACHINE]);
  const plugin = await launch("qemu", { logger: silentLogger });
  let hand: HandVm | undefined;
  try {
    const config = () => readFileSync(join(machineDir, "config.json"), "utf8");
    await plugin.client.setConfig({
      configJson: Buffer.from(JSON.stringify((JSON.parse(config()) as { config: unknown }).config)),
    });
    const c = plugin.client;
    const start = async () => {
      const t0 = performance.now();
      for await (const _ of c.start({}, { timeoutMs: BOOT_TIMEOUT_MS })) void _;
      return performance.now() - t0;
    };

    // A first boot warms the caches and shows the command line the driver runs.
    await start();
    const { argv } = findQemu(machineDir);
    await c.stop({}, { timeoutMs: BOOT_TIMEOUT_MS });

    const handDir = join(dir, "h");
    mkdirSync(handDir, { mode: 0o700 });
    // The machine's files (disk, key...) as they are after a boot; sockets and
    // the pidfile are qemu's to make.
    cpSync(machineDir, handDir, {
      recursive: true,
      filter: (src) => !/\.(sock|pid)$/.test(src) && !src.endsWith("/config.json"),
    });
    const port = await freePort();
    const handArgv = argv.map((a) =>
      a
        .split(machineDir)
        .join(handDir)
        .replace(/hostfwd=tcp:127\.0\.0\.1:\d+-:22/, `hostfwd=tcp:127.0.0.1:${port}-:22`),
    );
    if (!handArgv.some((a) => a.includes(`:${port}-:22`))) throw new Error("the driver's argv has no SSH host forward");
    hand = new HandVm(handArgv, handDir, port);
    if (!existsSync(handDir)) throw new Error(`could not copy ${machineDir}`);

    const getStateMs: number[] = [];
    // Both sides stop a guest that has been up equally long after ready: the
    // driverplug side spends that time on its GetState calls, the hand side
    // waits as long (a guest stopped the moment it is ready is still busy).
    let settleMs = 5_000;
    const vm = hand;
    const rounds = await alternate<Round>(
      [
        {
          name: "driverplug",
          run: async () => {
            const startMs = await start();
            const settled = performance.now();
            for (let i = 0; i < opts.getStateCalls; i++) {
              const t0 = performance.now();
              await c.getState({});
              getStateMs.push(performance.now() - t0);
            }
            settleMs = performance.now() - settled;
            const t0 = performance.now();
            await c.stop({}, { timeoutMs: BOOT_TIMEOUT_MS });
            return { startMs, stopMs: performance.now() - t0 };
          },
        },
        {
          name: "hand",
          run: async () => {
            const startMs = await vm.start();
            await new Promise((r) => setTimeout(r, settleMs));
            return { startMs, stopMs: await vm.stop() };
          },
        },
      ],
      opts.rounds,
    );
    for (const name of ["driverplug", "hand"]) {
      results.add(
        `qemu_start_ms.${name}`,
        median(field(rounds, name, "startMs")),
        "ms",
        name === "driverplug"
          ? "Start RPC (launch, boot, readiness, SSH answering) on the qemu driver, TCG"
          : "the driver's qemu argv run by hand (detached, or -daemonize if the driver uses it): spawn to the readiness line and the SSH banner",
      );
      results.add(
        `qemu_stop_ms.${name}`,
        median(field(rounds, name, "stopMs")),
        "ms",
        name === "driverplug"
          ? "Stop RPC of a booted guest until stopped"
          : "QMP system_powerdown to qemu's exit, as long after ready",
      );
    }
    results.add(
      "ratio.qemu_start_over_hand",
      medianRatio(field(rounds, "driverplug", "startMs"), field(rounds, "hand", "startMs")),
      "x",
      "paired rounds",
    );
    results.add(
      "ratio.qemu_stop_over_hand",
      medianRatio(field(rounds, "driverplug", "stopMs"), field(rounds, "hand", "stopMs")),
      "x",
      "paired rounds",
    );
    results.add(
      "qemu_getstate_p50_ms",
      median(getStateMs),
      "ms",
      `GetState of a running VM, ${getStateMs.length} calls`,
    );
    results.add("qemu_getstate_p99_ms", quantile(getStateMs, 0.99), "ms", "");
  } finally {
    hand?.kill();
    try {
      await plugin.client.kill({}, { timeoutMs: 60_000 });
    } catch {
      // Cleanup continues with rm --force.
    }
    await plugin.close();
    await cli(store, ["rm", "--force", MACHINE]).catch((err: unknown) =>
      process.stderr.write(`bench: qemu clean-up: ${String(err)}\n`),
    );
  }
}
