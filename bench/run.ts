// Entry of `make bench`: starts every contender's server in its own process,
// measures them side by side, prints the table and the target verdicts, and
// writes bench/results.json. Run compiled: node dist/bench/run.js
// (BENCH_QUICK=1 for a short run). A section that fails is reported and the
// others still run; the exit code is then 1.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { connectBare, connectEcho } from "./bare-client.js";
import type { BenchClient } from "./bench-client.js";
import { BENCH_BURST } from "./burst.js";
import { benchScript, startChildServer, type ChildServer } from "./child-server.js";
import { benchConfig, type BenchConfig } from "./config.js";
import {
  clientOf,
  fakeConfig,
  launchBenchDriver,
  launchConfiguredFake,
  startFake,
  startUnbundledFake,
  typedClientOn,
} from "./driverplug-client.js";
import { QUERY_TIMEOUT_MS, type ClientMiddleware } from "../src/host/index.js";
import { otelClientMiddleware } from "../src/otel/index.js";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { connectFloor } from "./floor-client.js";
import { connectNiceGrpc } from "./nice-grpc-client.js";
import { buildGoBinaries } from "./go-binaries.js";
import { Results, writeResults } from "./results.js";
import { medianRatio } from "./stats.js";
import { runConformanceKit } from "./suites/conformance.js";
import { runGoHost } from "./suites/go-host.js";
import { runManyMachines } from "./suites/many-machines.js";
import { idleRssMib, runScale } from "./suites/scale.js";
import { runStartup } from "./suites/startup.js";
import { runInflight, runPayload, runStream } from "./suites/throughput.js";
import { runUnary } from "./suites/unary.js";
import { runQemuVm } from "./suites/qemu-vm.js";
import { runCloudImage } from "./suites/cloud-image.js";
import { runLibvirtVm } from "./suites/libvirt-vm.js";
import { checkTargets } from "./targets.js";
import { fileURLToPath } from "node:url";

const FAKE_PLUGIN = fileURLToPath(new URL("../../bin/driverplug-driver-fake", import.meta.url));
/** The window the echo experiment tries on top of grpc-js defaults. */
const WINDOW_16M = 16 * 1024 * 1024;

/** Everything a section opened, closed in reverse order at the end. */
class Resources {
  private readonly closers: (() => unknown)[] = [];
  add<T>(thing: T, close: (t: T) => unknown): T {
    this.closers.push(() => close(thing));
    return thing;
  }
  async closeAll(): Promise<void> {
    for (const close of this.closers.reverse()) {
      try {
        await close();
      } catch (err) {
        process.stderr.write(`bench: cleanup failed: ${String(err)}\n`);
      }
    }
  }
}

interface Sections {
  config: BenchConfig;
  results: Results;
  dir: string;
  res: Resources;
}

async function bareServer(s: Sections, target: string, ownSession = false): Promise<ChildServer> {
  const server = await startChildServer(
    benchScript("servers/bare-grpc-server.js"),
    [target],
    { [BENCH_BURST]: String(s.config.stream.count) },
    undefined,
    ownSession,
  );
  return s.res.add(server, (x) => x.stop());
}

async function unaryAndInflight(s: Sections): Promise<void> {
  const { config, results, res } = s;
  const bareUnix = await bareServer(s, `unix:${join(s.dir, "bare.sock")}`);
  const bareTcp = await bareServer(s, "tcp");
  const floorServer = res.add(
    await startChildServer(benchScript("servers/floor-server.js"), [join(s.dir, "floor.sock")]),
    (x) => x.stop(),
  );
  const bare = res.add(connectBare(bareUnix.address), (c) => c.close());
  const tcp = res.add(connectBare(bareTcp.address), (c) => c.close());
  const floor = res.add(await connectFloor(floorServer.address), (c) => c.close());
  const driverplug = res.add(clientOf(await launchConfiguredFake(join(s.dir, "store"))), (c) => c.close());
  results.note(
    "unary_*.tcp is the bare grpc-js server over TCP 127.0.0.1: a driverplug plugin listens only on its private unix socket (no TCP option), so unix vs tcp compares the bare server on both",
  );

  log("unary, one call at a time");
  const rounds = await runUnary(
    [
      { name: "driverplug", call: driverplug.getState },
      { name: "bare", call: bare.getState },
      { name: "floor", call: floor.call },
      { name: "tcp", call: tcp.getState },
    ],
    config.unary,
    results,
  );
  const series = (name: string, key: "p50Us" | "rate") => rounds.get(name)!.map((r) => r[key]);
  results.add(
    "ratio.overhead_p50",
    medianRatio(series("driverplug", "p50Us"), series("bare", "p50Us")),
    "x",
    "driverplug p50 / bare p50, paired rounds",
  );
  results.add(
    "ratio.overhead_rate",
    medianRatio(series("bare", "rate"), series("driverplug", "rate")),
    "x",
    "bare calls/s / driverplug calls/s, paired rounds",
  );
  results.add(
    "ratio.unix_over_tcp",
    medianRatio(series("bare", "rate"), series("tcp", "rate")),
    "x",
    "bare unix calls/s / bare tcp calls/s",
  );

  log("unary breakdown: which side of driverplug costs what");
  const plugin = res.add(connectBare(`unix:${driverplug.address}`), (c) => c.close());
  // launch() starts a plugin in a session of its own (its process group, process-group.ts); on Linux
  // that is a scheduler autogroup of its own too, which the bare server in the bench's session is not.
  const bareSessionServer = await bareServer(s, `unix:${join(s.dir, "bare-session.sock")}`, true);
  const bareSession = res.add(connectBare(bareSessionServer.address), (c) => c.close());
  const hostOnBare = res.add(typedClientOn(bareUnix.address), (c) => c.close());
  const bareDeadline = res.add(connectBare(bareUnix.address, {}, QUERY_TIMEOUT_MS), (c) => c.close());
  const breakdown = await runUnary(
    [
      { name: "driverplug", call: driverplug.getState },
      { name: "bare", call: bare.getState },
      { name: "bare_own_session", call: bareSession.getState },
      { name: "host_client_on_bare_server", call: hostOnBare.getState },
      { name: "bare_client_on_plugin", call: plugin.getState },
      { name: "bare_with_deadline", call: bareDeadline.getState },
      { name: "driverplug_without_deadline", call: driverplug.getStateWithoutDeadline },
    ],
    { ...config.unary, rounds: Math.max(3, config.unary.rounds >> 1) },
    results,
    "breakdown",
  );
  const b = (name: string) => breakdown.get(name)!.map((r) => r.p50Us);
  results.add(
    "ratio.deadline_on_wire_p50",
    medianRatio(b("driverplug"), b("driverplug_without_deadline")),
    "x",
    "driverplug p50 with its default deadline (sent as grpc-timeout) / without a deadline, paired rounds",
  );
  results.add(
    "ratio.own_session_p50",
    medianRatio(b("bare_own_session"), b("bare")),
    "x",
    "bare grpc-js p50 with its server in a session of its own (as launch() starts a plugin) / in the bench's, paired rounds",
  );
  results.add(
    "ratio.overhead_p50_own_sessions",
    medianRatio(b("driverplug"), b("bare_own_session")),
    "x",
    "driverplug p50 / bare p50 with both servers in a session of their own, paired rounds",
  );

  log("64 calls in flight");
  await runInflight(
    [
      { name: "driverplug", call: driverplug.getState },
      { name: "bare", call: bare.getState },
      { name: "tcp", call: tcp.getState },
    ],
    config.inflight,
    results,
  );
}

/**
 * nice-grpc beside the host's typed client and the plugin's adapter, each
 * against bare grpc-js: client side on the bare server, server side under a
 * bare client. docs/architecture.md states the decision these figures made.
 */
async function niceGrpc(s: Sections): Promise<void> {
  const { config, results, res } = s;
  const bareUnix = await bareServer(s, `unix:${join(s.dir, "bare.sock")}`);
  const niceServer = res.add(
    await startChildServer(benchScript("servers/nice-grpc-server.js"), [`unix:${join(s.dir, "nice.sock")}`]),
    (x) => x.stop(),
  );
  const plugin = res.add(await launchConfiguredFake(join(s.dir, "store")), (h) => h.close());
  const bare = res.add(connectBare(bareUnix.address), (c) => c.close());
  const host = res.add(typedClientOn(bareUnix.address), (c) => c.close());
  const nice = res.add(connectNiceGrpc(bareUnix.address), (c) => c.close());
  const niceDeadline = res.add(connectNiceGrpc(bareUnix.address, QUERY_TIMEOUT_MS), (c) => c.close());
  const onNiceServer = res.add(connectBare(niceServer.address), (c) => c.close());
  const onPlugin = res.add(connectBare(`unix:${plugin.record.address}`), (c) => c.close());
  log("nice-grpc: clients on the bare server, servers under a bare client");
  const rounds = await runUnary(
    [
      { name: "bare", call: bare.getState },
      { name: "host_client_on_bare_server", call: host.getState },
      { name: "nicegrpc_client_on_bare_server", call: nice.getState },
      { name: "nicegrpc_deadline_client_on_bare_server", call: niceDeadline.getState },
      { name: "bare_client_on_nicegrpc_server", call: onNiceServer.getState },
      { name: "bare_client_on_plugin", call: onPlugin.getState },
    ],
    config.unary,
    results,
    "nice",
  );
  for (const name of [
    "host_client_on_bare_server",
    "nicegrpc_client_on_bare_server",
    "nicegrpc_deadline_client_on_bare_server",
    "bare_client_on_nicegrpc_server",
    "bare_client_on_plugin",
  ]) {
    const of = (n: string, key: "p50Us" | "rate") => rounds.get(n)!.map((r) => r[key]);
    results.add(`ratio.nice_p50.${name}`, medianRatio(of(name, "p50Us"), of("bare", "p50Us")), "x", "p50 / bare p50");
    results.add(
      `ratio.nice_rate.${name}`,
      medianRatio(of("bare", "rate"), of(name, "rate")),
      "x",
      "bare calls/s / its calls/s",
    );
  }
}

/**
 * What the middleware chains cost per call, against the bench driver: none
 * (the chain is skipped), one pass-through middleware on each side, and
 * driverplug/otel's on each side (the host with a recording tracer whose
 * exporter drops the spans; the plugin with no SDK).
 */
async function middlewareCost(s: Sections): Promise<void> {
  const { config, results, res } = s;
  const passOn: ClientMiddleware = async function* (call, options) {
    return yield* call.next(call.request, options);
  };
  const provider = new BasicTracerProvider({
    spanProcessors: [
      new SimpleSpanProcessor({ export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} }),
    ],
  });
  const tracer = provider.getTracer("bench");
  const none = res.add(clientOf(await launchBenchDriver(1)), (c) => c.close());
  const empty = res.add(clientOf(await launchBenchDriver(1, "empty", [passOn])), (c) => c.close());
  const otel = res.add(clientOf(await launchBenchDriver(1, "otel", [otelClientMiddleware({ tracer })])), (c) =>
    c.close(),
  );
  const bareUnix = await bareServer(s, `unix:${join(s.dir, "bare.sock")}`);
  const bare = res.add(connectBare(bareUnix.address), (c) => c.close());
  log("middleware: none, one pass-through per side, tracing per side");
  const rounds = await runUnary(
    [
      { name: "bare", call: bare.getState },
      { name: "no_middleware", call: none.getState },
      { name: "empty_middleware", call: empty.getState },
      { name: "otel_middleware", call: otel.getState },
    ],
    config.unary,
    results,
    "middleware",
  );
  const of = (n: string, key: "p50Us" | "rate") => rounds.get(n)!.map((r) => r[key]);
  for (const name of ["empty_middleware", "otel_middleware"]) {
    results.add(
      `ratio.${name}_p50`,
      medianRatio(of(name, "p50Us"), of("no_middleware", "p50Us")),
      "x",
      "p50 over the same plugin without middleware, paired rounds",
    );
    results.add(
      `ratio.${name}_rate`,
      medianRatio(of("no_middleware", "rate"), of(name, "rate")),
      "x",
      "calls/s without middleware over calls/s with it, paired rounds",
    );
  }
  await provider.shutdown();
}

async function payloadAndStream(s: Sections): Promise<void> {
  const { config, results, res } = s;
  const server = await bareServer(s, `unix:${join(s.dir, "bare.sock")}`);
  const bare = res.add(connectBare(server.address), (c) => c.close());
  const driverplug: BenchClient = res.add(clientOf(await launchBenchDriver(config.stream.count)), (c) => c.close());

  log("1 MiB each way (SetConfig + GetConfig)");
  const rounds = await runPayload(
    "mib1_mibs",
    "SetConfig 1 MiB + GetConfig 1 MiB, both directions counted",
    [
      { name: "driverplug", roundTrip: driverplug.configRoundTrip },
      { name: "bare_default", roundTrip: bare.configRoundTrip },
    ],
    config.echo,
    results,
  );
  results.add(
    "ratio.mib1_over_bare_default",
    medianRatio(rounds.get("driverplug")!, rounds.get("bare_default")!),
    "x",
    "paired rounds",
  );

  log("1 MiB echo: grpc-js defaults vs 16 MiB flow-control windows");
  const plain = res.add(
    await startChildServer(benchScript("servers/echo-server.js"), [`unix:${join(s.dir, "echo.sock")}`]),
    (x) => x.stop(),
  );
  const wide = res.add(
    await startChildServer(benchScript("servers/echo-server.js"), [
      `unix:${join(s.dir, "echo-wide.sock")}`,
      String(WINDOW_16M),
    ]),
    (x) => x.stop(),
  );
  const window = { "grpc-node.flow_control_window": WINDOW_16M };
  // Clients with different options get connections of their own in grpc-js.
  const echoDefault = res.add(connectEcho(plain.address), (c) => c.close());
  const echoClientWindow = res.add(connectEcho(plain.address, window), (c) => c.close());
  const echoBothWindows = res.add(connectEcho(wide.address, window), (c) => c.close());
  const echoRounds = await runPayload(
    "mib1_echo_mibs",
    "bench EchoService, 1 MiB each way, bare grpc-js",
    [
      { name: "bare_default", roundTrip: async (p) => (await echoDefault.echo(p)).length },
      { name: "bare_client_window16m", roundTrip: async (p) => (await echoClientWindow.echo(p)).length },
      { name: "bare_both_windows16m", roundTrip: async (p) => (await echoBothWindows.echo(p)).length },
    ],
    config.echo,
    results,
  );
  const overDefault = (name: string) => medianRatio(echoRounds.get(name)!, echoRounds.get("bare_default")!);
  results.add(
    "ratio.mib1_echo_client_window_over_default",
    overDefault("bare_client_window16m"),
    "x",
    "grpc-node.flow_control_window on the client (all grpc-js 1.14 offers)",
  );
  results.add(
    "ratio.mib1_echo_both_windows_over_default",
    overDefault("bare_both_windows16m"),
    "x",
    "plus the server's receive windows (http2 wrapped, bench-only)",
  );

  log("server stream of small messages");
  await runStream(
    [
      { name: "driverplug", burst: driverplug.watchBurst },
      { name: "bare", burst: bare.watchBurst },
    ],
    config.stream,
    results,
  );
}

async function startupAndScale(s: Sections): Promise<void> {
  const { config, results } = s;
  log("start-up");
  const rounds = await runStartup(
    [
      {
        name: "plugin",
        note: "fake plugin as shipped (bin/: the code-cached bundle): launch() to first Probe",
        start: startFake,
      },
      {
        name: "plugin_unbundled",
        note: "same plugin from dist/src's ESM files, as before the bundle",
        start: startUnbundledFake,
      },
    ],
    config.startup,
    results,
  );
  results.add("ratio.startup_over_node", medianRatio(rounds.get("plugin")!, rounds.get("node")!), "x", "paired rounds");
  results.add(
    "ratio.startup_unbundled_over_node",
    medianRatio(rounds.get("plugin_unbundled")!, rounds.get("node")!),
    "x",
    "paired rounds",
  );
  log("scale: 1, 10, 50 plugins at once");
  await runScale(startFake, config.scale, results);
  results.add("idle_rss_mib", await idleRssMib(startFake), "MiB", "VmRSS of the fake plugin, idle after one call");
}

async function goInterop(s: Sections): Promise<void> {
  log("Go host: building (offline, Debian packages)");
  const go = await buildGoBinaries();
  log("Go host: driverplug plugin vs Go go-plugin plugin");
  await runGoHost(
    go.host,
    [
      { name: "driverplug", plugin: FAKE_PLUGIN, config: fakeConfig(join(s.dir, "store")).toString() },
      { name: "goplugin", plugin: go.plugin },
    ],
    s.config.goHost,
    s.results,
  );
}

async function cliAndManyMachines(s: Sections): Promise<void> {
  log("CLI: status vs node -e 0, close(), ls of many machines, plugin RSS per machine count");
  await runManyMachines(s.config.cli, s.results);
}

async function qemuVm(s: Sections): Promise<void> {
  log("qemu VM: the test guest (make guest)");
  let bundle = process.env.DRIVERPLUG_TEST_GUEST ?? "";
  if (bundle === "") {
    const script = fileURLToPath(new URL("../../scripts/guest/build-guest.sh", import.meta.url));
    const out = execFileSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    bundle = out.trim().split("\n").pop() ?? "";
  }
  log("qemu VM: driverplug's Start, GetState and Stop vs the same qemu by hand");
  await runQemuVm(bundle, s.dir, s.config.qemu, s.results);
}

/** An image `make guest-debian` builds (env var first, as CI sets it), by its path on the script's last line. */
function debianImage(envVar: string, tuning: "tuned" | "untuned"): string {
  const given = process.env[envVar] ?? "";
  if (given !== "") return given;
  const script = fileURLToPath(new URL("../../scripts/guest-debian/build-image.sh", import.meta.url));
  const out = execFileSync("bash", [script, "--tuning", tuning], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return out.trim().split("\n").pop() ?? "";
}

async function cloudImage(s: Sections): Promise<void> {
  log("cloud image: the Debian image, tuned and untuned (make guest-debian)");
  const images = {
    tuned: debianImage("DRIVERPLUG_DEBIAN_IMAGE", "tuned"),
    untuned: debianImage("DRIVERPLUG_DEBIAN_IMAGE_UNTUNED", "untuned"),
  };
  log("cloud image: Start through the driver vs by hand, second Start vs first, RSS, tuned vs untuned");
  await runCloudImage(images, s.dir, s.config.cloudImage, s.results);
}

async function libvirtVm(s: Sections): Promise<void> {
  let bundle = process.env.DRIVERPLUG_TEST_GUEST ?? "";
  if (bundle === "") {
    const script = fileURLToPath(new URL("../../scripts/guest/build-guest.sh", import.meta.url));
    const out = execFileSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    bundle = out.trim().split("\n").pop() ?? "";
  }
  log("libvirt VM: the libvirt driver's Start, GetState and WatchState vs the qemu driver, and GetState over qemu+ssh");
  await runLibvirtVm(bundle, s.dir, s.config.libvirt, s.results);
}

async function main(): Promise<void> {
  const config = benchConfig();
  const results = new Results();
  const started = performance.now();
  let failed = false;
  const sections: [string, (s: Sections) => Promise<void>][] = [
    ["unary and 64 in flight", unaryAndInflight],
    ["1 MiB and stream", payloadAndStream],
    ["nice-grpc", niceGrpc],
    ["middleware", middlewareCost],
    ["start-up and scale", startupAndScale],
    ["Go host interop", goInterop],
    ["CLI and many machines", cliAndManyMachines],
    ["qemu VM", qemuVm],
    ["cloud image", cloudImage],
    ["libvirt VM", libvirtVm],
    [
      "conformance kit",
      async (s) => {
        log("conformance kit against the fake driver, and its one-plugin-per-check floor");
        await runConformanceKit(s.results);
      },
    ],
  ];
  // BENCH_ONLY=<words>: only the sections whose name contains one of them (for a quick look at one figure).
  const only = process.env.BENCH_ONLY?.split(",").filter(Boolean);
  for (const [name, run] of sections) {
    if (only && !only.some((word) => name.includes(word))) continue;
    // A fresh directory per section for sockets and the fake driver's store.
    const dir = mkdtempSync(join(tmpdir(), "dpb-"));
    const res = new Resources();
    try {
      await run({ config, results, dir, res });
    } catch (err) {
      failed = true;
      results.note(`section "${name}" failed: ${err instanceof Error ? err.message : String(err)}`);
      process.stderr.write(
        `bench: section "${name}" failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
    } finally {
      await res.closeAll();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const cores = availableParallelism();
  checkTargets(results, cores);
  const seconds = (performance.now() - started) / 1000;
  console.log(results.table());
  // A partial run (BENCH_ONLY) leaves bench/results.json alone: it holds a whole run.
  if (!only) {
    writeResults(results, {
      quick: config.quick,
      node: process.version,
      cores,
      seconds: Math.round(seconds),
      date: new Date().toISOString(),
    });
    process.stderr.write(`bench: done in ${seconds.toFixed(0)} s; wrote bench/results.json\n`);
  } else {
    process.stderr.write(
      `bench: done in ${seconds.toFixed(0)} s (BENCH_ONLY=${only.join(",")}: bench/results.json left alone)\n`,
    );
  }
  if (failed) process.exitCode = 1;
}

function log(what: string): void {
  process.stderr.write(`bench: ${what}...\n`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
