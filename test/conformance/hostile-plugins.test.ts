// The plugin under test is untrusted: `driverplug conformance` against a
// plugin whose Create streams progress without end keeps a bounded amount
// and fails the check "stream too large"; a plugin that leaves processes
// running fails the checks it ran in and the kit ends them; a plugin that
// needs a variable of the user's environment gets it through
// DRIVERPLUG_PASS_ENV, as under every other command.
import { readFile } from "node:fs/promises";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { Figures } from "../security/figures.js";
import { brokenPlugin, KitSandbox, resultLines } from "./kit-sandbox.js";

const figures = new Figures("kit-bounds");
afterAll(() => figures.print());

let kit: KitSandbox;
beforeEach(async () => {
  kit = await KitSandbox.create();
});
afterEach(async () => {
  await kit.dispose();
});

/** The kit's peak resident memory, read from /proc while it runs. */
async function peakRssMiB(pid: number, done: Promise<unknown>): Promise<number> {
  let peak = 0;
  let over = false;
  void done.then(() => (over = true));
  while (!over) {
    const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
    const kib = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
    if (kib > 0) peak = kib / 1024;
    await new Promise((r) => setTimeout(r, 100));
  }
  return peak;
}

describe("the conformance kit against hostile plugins", () => {
  it("fails a Create that streams progress without end as 'stream too large', in bounded memory", async () => {
    // A heap the flood would overrun within seconds if every message were kept.
    const run = kit.box.start(
      ["conformance", "--plugin", brokenPlugin("flood"), "--focus", "^Create > progress", "--timeout", "60"],
      { TMPDIR: kit.tmp, NODE_OPTIONS: "--max-old-space-size=128" },
    );
    const peak = await peakRssMiB(run.pid, run.done);
    const r = await run.done;
    figures.set("floodKitPeakRssMiB", peak);
    expect(r.code, r.stderr).toBe(1);
    expect(resultLines(r.stdout)).toEqual([["FAIL", "Create > progress is well-formed and the stream ends OK"]]);
    expect(r.stdout).toMatch(/Create: stream too large: the plugin sent over (10000 messages|8 MiB)/);
    expect(r.stderr).not.toMatch(/heap out of memory/i);
    expect(await kit.processes()).toEqual([]);
    expect(await kit.leftovers()).toEqual([]);
  }, 120_000);

  it("fails the checks whose plugins left processes running, in their group or a session of their own, and ends them", async () => {
    const r = await kit.run([
      "--plugin",
      brokenPlugin("leaver"),
      "--focus",
      "^identity > Probe|^protocol > SIGTERM makes it exit",
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const results = resultLines(r.stdout);
    expect(results.map(([status]) => status)).toEqual(["FAIL", "FAIL"]);
    const said = r.stdout.match(/the driver left (\d+) process(es)? running after its plugins were closed/g) ?? [];
    expect(said).toHaveLength(2);
    expect(r.stdout).toMatch(/\(the kit ended them\): pid \d+ "sleep 600", pid \d+ "sleep 600"/);
    figures.set("leaverChecksFailed", results.length);
    const left = await kit.processes();
    figures.set("leaverProcessesLeft", left.length);
    expect(left).toEqual([]);
  }, 120_000);

  it("leaves alone what --allow-running names (a daemon the plugins share, in a session of its own), and passes", async () => {
    const r = await kit.run([
      "--plugin",
      brokenPlugin("leaver"),
      "--focus",
      "^identity > Probe",
      "--allow-running",
      "^sleep 600$",
    ]);
    const left = await kit.processes();
    // The kit rightly left them: they are this test's to end.
    for (const line of left) process.kill(Number(line.split(":")[0]), "SIGKILL");
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(resultLines(r.stdout)).toEqual([["PASS", "identity > Probe answers ready"]]);
    // The session children of the check's and of the GetInfo plugin; the host still ended the ones in their groups.
    expect(left.length).toBeGreaterThanOrEqual(1);
    expect(
      left.every((l) => /: sleep 600\s*$/.test(l)),
      left.join("\n"),
    ).toBe(true);
  }, 120_000);

  it("passes DRIVERPLUG_PASS_ENV's variables to the plugin", async () => {
    const focus = ["--focus", "^identity > (Probe|GetInfo names)|^protocol > health"];
    const env = { TMPDIR: kit.tmp, LIBVIRT_DEFAULT_URI: "test:///default" };
    const without = await kit.box.run(["conformance", "--plugin", brokenPlugin("needsenv"), ...focus], env);
    expect(without.code).toBe(1);
    expect(without.stdout).toContain("LIBVIRT_DEFAULT_URI is not set");
    const passed = await kit.box.run(["conformance", "--plugin", brokenPlugin("needsenv"), ...focus], {
      ...env,
      DRIVERPLUG_PASS_ENV: "LIBVIRT_DEFAULT_URI",
    });
    expect(passed.code, passed.stdout + passed.stderr).toBe(0);
    expect(resultLines(passed.stdout).every(([status]) => status === "PASS")).toBe(true);
    expect(resultLines(passed.stdout)).toHaveLength(3);
  }, 120_000);
});
