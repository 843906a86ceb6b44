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
//   build-image.sh --tuning untuned), first and later boots, and where each
//   image's first boot goes, as the guest itself tells it (systemd-analyze for
//   kernel and user space, `cloud-init analyze show` for cloud-init's stages).
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
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
const run = promisify(execFile);
const DRIVERPLUG = fileURLToPath(new URL("../../../bin/driverplug", import.meta.url));

/** Where a guest's boot went, in seconds, as systemd and cloud-init recorded it. */
interface BootBreakdown {
  kernelS: number;
  initrdS: number;
  userspaceS: number;
  cloudInitS: number;
}

/** One duration of systemd-analyze's "Startup finished in ..." line ("1min 2.345s", "812ms"). */
function seconds(text: string): number {
  let s = 0;
  for (const m of text.matchAll(/([\d.]+)(min|ms|s)/g)) {
    const v = Number(m[1]);
    s += m[2] === "min" ? v * 60 : m[2] === "ms" ? v / 1000 : v;
  }
  return s;
}

/**
 * Asks the running guest where its boot went. The top of `systemd-analyze
 * blame` and cloud-init's stages go to stderr, for the docs; the sums come back.
 */
async function bootBreakdown(store: string, name: string): Promise<BootBreakdown> {
  // systemd-analyze fails while boot jobs still run (ready comes before that): wait for them first.
  const { stdout } = await run(
    DRIVERPLUG,
    [
      "ssh",
      name,
      "--",
      "systemctl is-system-running --wait >/dev/null; systemd-analyze; echo ---; systemd-analyze blame --no-pager | head -n 12; echo ---; sudo cloud-init analyze show",
    ],
    // Under TCG on a loaded machine one SSH session can take minutes.
    { env: { ...process.env, DRIVERPLUG_STORE: store }, maxBuffer: 4 << 20, timeout: BOOT_TIMEOUT_MS },
  );
  const [summary = "", blame = "", stages = ""] = stdout.split("\n---\n");
  const line = /Startup finished in (.*)/.exec(summary)?.[1] ?? "";
  const part = (what: string) => seconds(new RegExp(`([\\dmins. ]+) \\(${what}\\)`).exec(line)?.[1] ?? "");
  // The first boot's record is the first "Total Time" cloud-init shows.
  const total = /Total Time: ([\d.]+) seconds/.exec(stages)?.[1];
  const stageLines = stages.split("\n").filter((l) => /^Finished stage|^Total Time/.test(l));
  process.stderr.write(
    `bench: ${name}: ${summary.trim().split("\n")[0] ?? ""}\n` +
      `bench: ${name}: systemd-analyze blame:\n${blame.replace(/^/gm, "    ")}\n` +
      `bench: ${name}: cloud-init analyze show:\n${stageLines.join("\n").replace(/^/gm, "    ")}\n`,
  );
  if (line === "" || total === undefined)
    throw new Error(`${name}: no boot times from the guest; it printed:\n${stdout.slice(0, 2000)}`);
  return { kernelS: part("kernel"), initrdS: part("initrd"), userspaceS: part("userspace"), cloudInitS: Number(total) };
}

function addBreakdown(results: Results, tuning: string, b: BootBreakdown): void {
  const note = `first boot of the ${tuning} image`;
  results.add(`cloud_boot_s.kernel.${tuning}`, b.kernelS, "s", `${note}: kernel (systemd-analyze)`);
  results.add(`cloud_boot_s.initrd.${tuning}`, b.initrdS, "s", `${note}: initrd (systemd-analyze)`);
  results.add(`cloud_boot_s.userspace.${tuning}`, b.userspaceS, "s", `${note}: user space to default.target`);
  results.add(`cloud_boot_s.cloud_init.${tuning}`, b.cloudInitS, "s", `${note}: cloud-init's stages (analyze show)`);
}

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
  opts: { rounds: number; extraBoots: boolean },
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
    const tunedBoot = await bootBreakdown(store, tuned.name);
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

    // The same by hand with the 512 MiB translation cache the driver used before (full runs only: one more boot).
    let bigRss = NaN;
    let bigStartMs = NaN;
    if (opts.extraBoots) {
      const big = new HandVm(
        handArgv.map((a) => a.replace(/tb-size=\d+/, "tb-size=512")),
        handDir,
        port,
      );
      hand = big;
      bigStartMs = await big.start();
      await sleep(SETTLE_MS);
      bigRss = rssMiB(big.qemuPid);
      await big.stop();
    }

    const untuned = await Machine.create(store, "cloud-untuned", images.untuned);
    made.push(untuned);
    const untunedFirstMs = await untuned.start();
    const untunedBoot = await bootBreakdown(store, untuned.name);
    await untuned.stop();
    // Later boots of both images, paired (full runs only: two boots a round).
    const later = !opts.extraBoots
      ? new Map<string, { startMs: number }[]>()
      : await alternate<{ startMs: number }>(
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
    if (opts.extraBoots) {
      results.add("cloud_rss_mib.tb512", bigRss, "MiB", "the same by hand with tb-size=512 (the driver's old setting)");
      results.add("ratio.cloud_rss_over_guest_tb512", bigRss / MEMORY_MIB, "x", "tb-size=512");
      results.add("cloud_start_ms.tb512", bigStartMs, "ms", "the hand-run boot with tb-size=512");
    }
    results.add(
      "cloud_first_start_ms.untuned",
      untunedFirstMs,
      "ms",
      "first Start of a machine from the untuned image",
    );
    results.add("ratio.cloud_first_tuned_over_untuned", firstMs / untunedFirstMs, "x", "first boots");
    if (opts.extraBoots)
      results.add(
        "ratio.cloud_start_tuned_over_untuned",
        medianRatio(field(later, "tuned", "startMs"), field(later, "untuned", "startMs")),
        "x",
        "later boots, paired rounds",
      );
    addBreakdown(results, "tuned", tunedBoot);
    addBreakdown(results, "untuned", untunedBoot);
  } finally {
    hand?.kill();
    for (const m of made.reverse()) await m.close(store);
  }
}
