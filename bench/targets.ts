// The bench's targets, each checked against the figures of one run and
// printed PASS or FAIL with the measured value.
import type { Results } from "./results.js";

export function checkTargets(results: Results, cores: number): void {
  const r = (name: string) => results.get(name);
  atMost(results, "driverplug unary p50 over bare grpc-js", r("ratio.overhead_p50"), 1.05);
  atMost(results, "bare grpc-js calls/s over driverplug calls/s", r("ratio.overhead_rate"), 1.05);
  atLeast(results, "unix over tcp, sequential calls/s", r("ratio.unix_over_tcp"), 1.1);
  atMost(results, "plugin start-up over `node -e 0`", r("ratio.startup_over_node"), 1.4);
  atLeast(results, "1 MiB payload, driverplug over bare grpc-js defaults", r("ratio.mib1_over_bare_default"), 1.25);
  atMost(results, "`driverplug status m1` warm over `node -e 0`", r("ratio.cli_status_warm_over_node"), 1.5);
  atMost(results, "`driverplug status m1` cold (--warm 0) over `node -e 0`", r("ratio.cli_status_over_node"), 2.5);
  below(results, "close() of a plugin (Shutdown to resolved)", r("close_ms"), 30, "ms");
  below(results, "`ls` of 500 machines, warm", r("ls500_ms"), 1000, "ms");
  below(results, "`ls` of 500 machines: Timeout rows", r("ls500_timeout_rows"), 0, "");
  below(results, "`ls` of 500 machines: rows not in their true state", r("ls500_wrong_rows"), 0, "");
  atMost(results, "`ls` of 100 machines over `ls` of 1", r("ratio.ls100_over_ls1"), 1.5);
  atMost(results, "plugin RSS serving 100 machines over 1", r("ratio.plugin_rss_100_over_1"), 1.5);
  atMost(results, "qemu Start to ready over the same qemu by hand", r("ratio.qemu_start_over_hand"), 1.1);
  atMost(results, "qemu Stop of a booted guest over powerdown-to-exit by hand", r("ratio.qemu_stop_over_hand"), 1.2);
  atMost(results, "cloud image Start to ready over the same qemu by hand", r("ratio.cloud_start_over_hand"), 1.1);
  atMost(results, "cloud image VM's host RSS over its guest memory", r("ratio.cloud_rss_over_guest"), 1.3);
  atMost(results, "libvirt Start to ready over the qemu driver's", r("ratio.libvirt_start_over_qemu"), 1.25);
  below(results, "libvirt GetState p50 of a running VM (local)", r("libvirt_getstate_p50_ms"), 5, "ms");
  below(results, "libvirt WatchState: outside destroy to STOPPED", r("libvirt_watch_stopped_ms"), 200, "ms");
  const getState = r("qemu_getstate_p50_ms");
  results.check(
    "qemu GetState p50 of a running VM",
    getState !== undefined && getState <= 20,
    getState === undefined ? "not measured" : `${getState.toFixed(2)} ms`,
    "<= 20 ms",
  );
  const one = r("startup_ms.plugin");
  const fifty = r("scale50_ready_ms");
  const limit = one === undefined ? undefined : (1.2 * 50 * one) / cores;
  if (fifty === undefined || limit === undefined) {
    results.check("50 plugins ready", false, "not measured", `<= 1.2 x 50 x start-up / ${cores} cores`);
  } else {
    results.check(
      "50 plugins ready",
      fifty <= limit,
      `${fifty.toFixed(0)} ms`,
      `<= ${limit.toFixed(0)} ms = 1.2 x 50 x ${one!.toFixed(1)} ms / ${cores} cores`,
    );
  }
}

function atMost(results: Results, what: string, value: number | undefined, limit: number): void {
  if (value === undefined) results.check(what, false, "not measured", `<= ${limit}`);
  else results.check(what, value <= limit, `${value.toFixed(3)}x`, `<= ${limit}x`);
}

function below(results: Results, what: string, value: number | undefined, limit: number, unit: string): void {
  if (value === undefined) results.check(what, false, "not measured", `<= ${limit}${unit}`);
  else results.check(what, value <= limit, `${value.toFixed(unit === "" ? 0 : 1)}${unit}`, `<= ${limit}${unit}`);
}

function atLeast(results: Results, what: string, value: number | undefined, limit: number): void {
  if (value === undefined) results.check(what, false, "not measured", `>= ${limit}`);
  else results.check(what, value >= limit, `${value.toFixed(3)}x`, `>= ${limit}x`);
}
