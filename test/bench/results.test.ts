// The bench's output: one named number per figure in results.json, and a
// PASS/FAIL line per target computed from those figures.
import { describe, expect, it } from "vitest";
import { Results } from "../../bench/results.js";
import { checkTargets } from "../../bench/targets.js";

function fullResults(over: Record<string, number> = {}): Results {
  const r = new Results();
  const figures: Record<string, number> = {
    "ratio.overhead_p50": 1.02,
    "ratio.overhead_rate": 1.04,
    "ratio.unix_over_tcp": 1.2,
    "ratio.startup_over_node": 1.3,
    "ratio.mib1_over_bare_default": 1.3,
    "startup_ms.plugin": 100,
    scale50_ready_ms: 2_500,
    "ratio.cli_status_over_node": 1.9,
    "ratio.cli_status_warm_over_node": 1.4,
    close_ms: 12,
    ls500_ms: 900,
    ls500_timeout_rows: 0,
    ls500_wrong_rows: 0,
    "ratio.ls100_over_ls1": 1.3,
    "ratio.plugin_rss_100_over_1": 1.1,
    "ratio.qemu_start_over_hand": 1.03,
    "ratio.qemu_stop_over_hand": 1.1,
    qemu_getstate_p50_ms: 4.2,
    "ratio.cloud_start_over_hand": 1.05,
    "ratio.cloud_rss_over_guest": 1.2,
    "ratio.libvirt_start_over_qemu": 1.2,
    libvirt_getstate_p50_ms: 4,
    libvirt_watch_stopped_ms: 50,
    ...over,
  };
  for (const [name, value] of Object.entries(figures)) r.add(name, value, "x");
  return r;
}

describe("bench results", () => {
  it("writes every figure under its own name, rounded, next to the verdicts", () => {
    const r = new Results();
    r.add("unary_p50_us.bare", 147.123456, "us");
    r.add("unary_rate.bare", 5612.7, "calls/s");
    r.check("something", true, "1.0x", "<= 1.05x");
    const json = JSON.parse(r.json({ quick: true })) as {
      quick: boolean;
      figures: Record<string, number>;
      targets: unknown[];
    };
    expect(json.quick).toBe(true);
    expect(json.figures).toEqual({ "unary_p50_us.bare": 147, "unary_rate.bare": 5613 });
    expect(json.targets).toHaveLength(1);
  });

  it("keeps the last value when a figure is measured twice", () => {
    const r = new Results();
    r.add("x", 1, "ms");
    r.add("x", 2, "ms");
    expect(r.figures).toHaveLength(1);
    expect(r.get("x")).toBe(2);
  });

  it("refuses a figure that is not a finite number", () => {
    expect(() => new Results().add("broken", Number.NaN, "ms")).toThrow(/broken is not a finite number/);
  });

  it("passes every target when the figures are within bounds", () => {
    const r = fullResults();
    checkTargets(r, 2);
    expect(r.checks.map((c) => c.pass)).toEqual(Array(22).fill(true));
    expect(r.table()).toMatch(/^PASS {2}qemu GetState p50 of a running VM: 4\.20 ms \(target <= 20 ms\)$/m);
    expect(r.table()).toMatch(
      /^PASS {2}50 plugins ready: 2500 ms \(target <= 3000 ms = 1\.2 x 50 x 100\.0 ms \/ 2 cores\)$/m,
    );
  });

  it("fails a target that is over its bound or was not measured, and says which", () => {
    const r = fullResults({
      "ratio.overhead_p50": 1.2,
      scale50_ready_ms: 3_100,
      ls500_timeout_rows: 3,
      "ratio.qemu_stop_over_hand": 1.3,
      qemu_getstate_p50_ms: 25,
    });
    r.figures.splice(
      r.figures.findIndex((f) => f.name === "ratio.unix_over_tcp"),
      1,
    );
    checkTargets(r, 2);
    const table = r.table();
    expect(table).toMatch(/^FAIL {2}driverplug unary p50 over bare grpc-js: 1\.200x \(target <= 1\.05x\)$/m);
    expect(table).toMatch(/^FAIL {2}unix over tcp, sequential calls\/s: not measured/m);
    expect(table).toMatch(/^FAIL {2}50 plugins ready: 3100 ms/m);
    expect(table).toMatch(/^FAIL {2}`ls` of 500 machines: Timeout rows: 3 \(target <= 0\)$/m);
    expect(table).toMatch(
      /^FAIL {2}qemu Stop of a booted guest over powerdown-to-exit by hand: 1\.300x \(target <= 1\.2x\)$/m,
    );
    expect(table).toMatch(/^FAIL {2}qemu GetState p50 of a running VM: 25\.00 ms \(target <= 20 ms\)$/m);
    expect(table).toMatch(/^PASS {2}qemu Start to ready over the same qemu by hand: 1\.030x/m);
  });
});
