// The libvirt driver against the qemu driver on the same test guest, round
// by round: Start to ready (readiness line, then SSH answering) through each;
// GetState of a running libvirt VM; how long after an outside `virsh destroy`
// has returned the STOPPED message of an open WatchState arrives; and GetState
// over a qemu+ssh URI (a second local user with its own sshd, as in the tests).
// GetState is measured call by call against the fake driver's GetState (a
// plugin whose GetState does no work), so the table shows what the libvirt
// driver adds to a plugin round trip, whatever the machine's load; the load
// average is noted with the figures.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Writable } from "node:stream";
import { State } from "../../generated/driverplug/driver/v1/driver.js";
import { runCli } from "../../src/cli/run-cli.js";
import { domainName } from "../../src/drivers/libvirt/domain-name.js";
import { launch, silentLogger, type PluginHandle } from "../../src/host/index.js";
import { DAEMON_MARKER_ENV, ensureLibvirtDaemon, stopTestDaemons } from "../../test/libvirt/libvirt-daemon.js";
import { startRemoteHost } from "../../test/libvirt/remote-host.js";
import type { Results } from "../results.js";
import { alternate, field } from "../rounds.js";
import { median, medianRatio, quantile } from "../stats.js";

const BOOT_TIMEOUT_MS = 300_000;
const run = promisify(execFile);

interface Round {
  startMs: number;
  watchMs: number;
}

async function cli(store: string, argv: string[]): Promise<void> {
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

/** A plugin configured with the saved config of `machine` in `store`. */
async function pluginFor(driver: string, store: string, machine: string): Promise<PluginHandle> {
  const plugin = await launch(driver, { logger: silentLogger });
  const saved = JSON.parse(readFileSync(join(store, "machines", machine, "config.json"), "utf8")) as {
    config: unknown;
  };
  await plugin.client.setConfig({ configJson: Buffer.from(JSON.stringify(saved.config)) });
  return plugin;
}

async function startMs(plugin: PluginHandle): Promise<number> {
  const t0 = performance.now();
  for await (const _ of plugin.client.start({}, { timeoutMs: BOOT_TIMEOUT_MS })) void _;
  return performance.now() - t0;
}

export async function runLibvirtVm(
  bundle: string,
  dir: string,
  opts: { rounds: number; getStateCalls: number },
  results: Results,
): Promise<void> {
  process.env[DAEMON_MARKER_ENV] ??= join(dir, "libvirtd.pids");
  await ensureLibvirtDaemon();
  const store = join(dir, "lvstore");
  const plugins: PluginHandle[] = [];
  const made: string[] = [];
  try {
    await cli(store, ["create", "--driver", "libvirt", "--bundle", bundle, "bench-lv"]);
    made.push("bench-lv");
    await cli(store, ["create", "--driver", "qemu", "--bundle", bundle, "bench-qm"]);
    made.push("bench-qm");
    await cli(store, ["create", "--driver", "fake", "bench-fk"]);
    made.push("bench-fk");
    const fake = await pluginFor("fake", store, "bench-fk");
    plugins.push(fake);
    const lv = await pluginFor("libvirt", store, "bench-lv");
    plugins.push(lv);
    const qm = await pluginFor("qemu", store, "bench-qm");
    plugins.push(qm);
    const domain = domainName("bench-lv", join(store, "machines", "bench-lv"));

    // A first boot of each warms the caches.
    await startMs(lv);
    await lv.client.stop({}, { timeoutMs: BOOT_TIMEOUT_MS });
    await startMs(qm);
    await qm.client.stop({}, { timeoutMs: BOOT_TIMEOUT_MS });

    const getStateMs: number[] = [];
    const fakeGetStateMs: number[] = [];
    const load = [loadavg()[0]!];
    const rounds = await alternate<Round>(
      [
        {
          name: "libvirt",
          run: async () => {
            const start = await startMs(lv);
            // Call by call, alternating with the fake driver's GetState: the same load for both.
            for (let i = 0; i < opts.getStateCalls; i++) {
              const t0 = performance.now();
              await lv.client.getState({});
              const t1 = performance.now();
              await fake.client.getState({});
              getStateMs.push(t1 - t0);
              fakeGetStateMs.push(performance.now() - t1);
            }
            load.push(loadavg()[0]!);
            // An outside destroy, seen through an open WatchState.
            const ac = new AbortController();
            let destroyedAt = 0;
            const stopped = (async () => {
              for await (const m of lv.client.watchState({}, { signal: ac.signal })) {
                if (m.state === State.STATE_RUNNING && destroyedAt === 0) {
                  await run("virsh", ["-c", "qemu:///session", "destroy", domain]);
                  destroyedAt = performance.now();
                }
                if (m.state === State.STATE_STOPPED) return performance.now();
              }
              throw new Error("WatchState ended before STOPPED");
            })();
            const seenAt = await stopped;
            ac.abort();
            return { startMs: start, watchMs: Math.max(0, seenAt - destroyedAt) };
          },
        },
        {
          name: "qemu",
          run: async () => {
            const start = await startMs(qm);
            await qm.client.stop({}, { timeoutMs: BOOT_TIMEOUT_MS });
            return { startMs: start, watchMs: 0 };
          },
        },
      ],
      opts.rounds,
    );
    for (const name of ["libvirt", "qemu"]) {
      results.add(
        `libvirt_vs_qemu_start_ms.${name}`,
        median(field(rounds, name, "startMs")),
        "ms",
        `Start RPC to ready (readiness line, SSH answering) through the ${name} driver, same guest, TCG`,
      );
    }
    results.add(
      "ratio.libvirt_start_over_qemu",
      medianRatio(field(rounds, "libvirt", "startMs"), field(rounds, "qemu", "startMs")),
      "x",
      "paired rounds",
    );
    results.add(
      "libvirt_getstate_p50_ms",
      median(getStateMs),
      "ms",
      `GetState of a running VM, qemu:///session, ${getStateMs.length} calls`,
    );
    results.add("libvirt_getstate_p99_ms", quantile(getStateMs, 0.99), "ms", "");
    results.add(
      "libvirt_getstate_fake_p50_ms",
      median(fakeGetStateMs),
      "ms",
      "the fake driver's GetState (no work), each call right after one of the libvirt driver's",
    );
    results.add(
      "ratio.libvirt_getstate_over_fake",
      median(getStateMs) / median(fakeGetStateMs),
      "x",
      "p50 over p50, calls interleaved",
    );
    results.note(
      `libvirt section: 1-minute load average ${Math.min(...load).toFixed(1)}-${Math.max(...load).toFixed(1)} on this machine's ${availableParallelism()} cores during the rounds`,
    );
    results.add(
      "libvirt_watch_stopped_ms",
      median(field(rounds, "libvirt", "watchMs")),
      "ms",
      "from `virsh destroy` returning to WatchState's STOPPED message (0 when it came first)",
    );
  } finally {
    for (const p of plugins) await p.close().catch(() => undefined);
    for (const m of made)
      await cli(store, ["rm", "--force", m]).catch((err: unknown) =>
        process.stderr.write(`bench: libvirt clean-up: ${String(err)}\n`),
      );
  }

  // GetState over qemu+ssh: the same call, the connection through ssh and virt-ssh-helper.
  const remote = await startRemoteHost();
  const rstore = join(dir, "lvremote");
  let plugin: PluginHandle | undefined;
  try {
    await cli(rstore, ["create", "--driver", "libvirt", "--uri", remote.uri, "--bundle", bundle, "bench-rv"]);
    plugin = await pluginFor("libvirt", rstore, "bench-rv");
    await startMs(plugin);
    const remoteMs: number[] = [];
    for (let i = 0; i < opts.getStateCalls; i++) {
      const t0 = performance.now();
      await plugin.client.getState({});
      remoteMs.push(performance.now() - t0);
    }
    results.add(
      "libvirt_remote_getstate_p50_ms",
      median(remoteMs),
      "ms",
      `GetState of a running VM over qemu+ssh (loopback sshd), ${remoteMs.length} calls`,
    );
    results.add("libvirt_remote_getstate_p99_ms", quantile(remoteMs, 0.99), "ms", "");
    await plugin.client.kill({}, { timeoutMs: 60_000 });
  } finally {
    await plugin?.close().catch(() => undefined);
    await cli(rstore, ["rm", "--force", "bench-rv"]).catch(() => undefined);
    await remote.dispose();
    await stopTestDaemons();
  }
}
