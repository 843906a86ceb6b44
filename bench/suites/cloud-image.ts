// A real cloud image (`make guest-debian`) through the qemu driver, booted by
// firmware with the driver's seed, measured side by side in one run:
// - Start to ready through the driver against the same QEMU command line run
//   by hand (the argv the driver launched, read from /proc, with a copy of the
//   machine's files and its own port), in alternating rounds;
// - a second (and later) Start against the first, which runs cloud-init's
//   once-per-instance work;
// - the host RSS of the VM's QEMU over the guest's memory once it is ready,
//   with the translation cache the driver sizes to the guest and, by hand,
//   with the 512 MiB cache it used to take;
// - the tuned image against the untuned one (same recipe, Debian's defaults:
//   build-image.sh --tuning untuned), first and later boots.
import { cpSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { launch, silentLogger, type PluginHandle } from "../../src/host/index.js";
import type { Results } from "../results.js";
import { alternate, field } from "../rounds.js";
import { median, medianRatio } from "../stats.js";
import { cli, findQemu, freePort, HandVm } from "./qemu-vm.js";

const BOOT_TIMEOUT_MS = 900_000;
const MEMORY_MIB = 1024;
/** After ready, the guest settles (cloud-init's last writes, sshd) before its RSS is read. */
const SETTLE_MS = 10_000;

function rssMiB(pid: number): number {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(text)![1]) / 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A machine made from an image, with a plugin holding its config. */
class Machine {
  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly plugin: PluginHandle,
  ) {}

  static async create(store: string, name: string, image: string): Promise<Machine> {
    await cli(store, [
      "create",
      "--driver",
      "qemu",
      "--image",
      image,
      "--memory",
      String(MEMORY_MIB),
      "--cpus",
      "2",
      name,
    ]);
    const dir = join(store, "machines", name);
    const plugin = await launch("qemu", { logger: silentLogger });
    const saved = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { config: unknown };
    await plugin.client.setConfig({ configJson: Buffer.from(JSON.stringify(saved.config)) });
    return new Machine(name, dir, plugin);
  }

  async start(): Promise<number> {
    const t0 = performance.now();
    for await (const _ of this.plugin.client.start({}, { timeoutMs: BOOT_TIMEOUT_MS })) void _;
    return performance.now() - t0;
  }

  async stop(): Promise<void> {
    await this.plugin.client.stop({}, { timeoutMs: BOOT_TIMEOUT_MS });
  }

  async close(store: string): Promise<void> {
    await this.plugin.client.kill({}, { timeoutMs: 60_000 }).catch(() => undefined);
    await this.plugin.close();
    await cli(store, ["rm", "--force", this.name]).catch((err: unknown) =>
      process.stderr.write(`bench: cloud image clean-up: ${String(err)}\n`),
    );
  }
}

export async function runCloudImage(
  images: { tuned: string; untuned: string },
  dir: string,
  opts: { rounds: number },
  results: Results,
): Promise<void> {
  const store = join(dir, "cloud-store");
  const made: Machine[] = [];
  let hand: HandVm | undefined;
  try {
    const tuned = await Machine.create(store, "cloud-tuned", images.tuned);
    made.push(tuned);
    const firstMs = await tuned.start();
    const { pid, argv } = findQemu(join(tuned.dir, "vm"));
    await sleep(SETTLE_MS);
    const rss = rssMiB(pid);
    await tuned.stop();

    // The hand-run copy: the machine's files after its first boot, the same argv with another dir and port.
    const handDir = join(dir, "cloud-hand");
    mkdirSync(handDir, { mode: 0o700 });
    const vmDir = join(tuned.dir, "vm");
    cpSync(vmDir, handDir, { recursive: true, filter: (src) => !/\.(sock|pid)$/.test(src) });
    const port = await freePort();
    const handArgv = argv.map((a) =>
      a
        .split(vmDir)
        .join(handDir)
        .replace(/hostfwd=tcp:127\.0\.0\.1:\d+-:22/, `hostfwd=tcp:127.0.0.1:${port}-:22`),
    );
    const vm = new HandVm(handArgv, handDir, port);
    hand = vm;
    const rounds = await alternate<{ startMs: number }>(
      [
        { name: "driverplug", run: async () => ({ startMs: await tuned.start().finally(() => tuned.stop()) }) },
        { name: "hand", run: async () => ({ startMs: await vm.start().finally(() => vm.stop()) }) },
      ],
      opts.rounds,
    );

    // The same by hand with the 512 MiB translation cache the driver used before.
    const big = new HandVm(
      handArgv.map((a) => a.replace(/tb-size=\d+/, "tb-size=512")),
      handDir,
      port,
    );
    hand = big;
    const bigStartMs = await big.start();
    await sleep(SETTLE_MS);
    const bigRss = rssMiB(big.qemuPid);
    await big.stop();

    const untuned = await Machine.create(store, "cloud-untuned", images.untuned);
    made.push(untuned);
    const untunedFirstMs = await untuned.start();
    await untuned.stop();
    const later = await alternate<{ startMs: number }>(
      [
        { name: "tuned", run: async () => ({ startMs: await tuned.start().finally(() => tuned.stop()) }) },
        { name: "untuned", run: async () => ({ startMs: await untuned.start().finally(() => untuned.stop()) }) },
      ],
      opts.rounds,
    );

    const driverStarts = field(rounds, "driverplug", "startMs");
    results.add(
      "cloud_first_start_ms",
      firstMs,
      "ms",
      "first Start of a machine from the tuned image (cloud-init's first boot)",
    );
    results.add(
      "cloud_start_ms.driverplug",
      median(driverStarts),
      "ms",
      "later Starts through the driver: firmware to SSH",
    );
    results.add(
      "cloud_start_ms.hand",
      median(field(rounds, "hand", "startMs")),
      "ms",
      "the driver's argv by hand: spawn to the readiness line and the SSH banner",
    );
    results.add(
      "ratio.cloud_start_over_hand",
      medianRatio(driverStarts, field(rounds, "hand", "startMs")),
      "x",
      "paired rounds",
    );
    results.add("ratio.cloud_second_over_first", median(driverStarts) / firstMs, "x", "later Start over the first");
    results.add("cloud_rss_mib", rss, "MiB", `QEMU's RSS ${SETTLE_MS / 1000} s after ready, ${MEMORY_MIB} MiB guest`);
    results.add("ratio.cloud_rss_over_guest", rss / MEMORY_MIB, "x", "tb-size sized to the guest");
    results.add("cloud_rss_mib.tb512", bigRss, "MiB", "the same by hand with tb-size=512 (the driver's old setting)");
    results.add("ratio.cloud_rss_over_guest_tb512", bigRss / MEMORY_MIB, "x", "tb-size=512");
    results.add("cloud_start_ms.tb512", bigStartMs, "ms", "the hand-run boot with tb-size=512");
    results.add(
      "cloud_first_start_ms.untuned",
      untunedFirstMs,
      "ms",
      "first Start of a machine from the untuned image",
    );
    results.add("ratio.cloud_first_tuned_over_untuned", firstMs / untunedFirstMs, "x", "first boots");
    results.add(
      "ratio.cloud_start_tuned_over_untuned",
      medianRatio(field(later, "tuned", "startMs"), field(later, "untuned", "startMs")),
      "x",
      "later boots, paired rounds",
    );
  } finally {
    hand?.kill();
    for (const m of made.reverse()) await m.close(store);
  }
}
