// The kit's own cleanup: whatever happens to a check (the plugin crashes
// mid-Start, checks fail one after another, the user presses Ctrl-C), no
// plugin process, socket or store dir is left once the command has exited.
import { existsSync } from "node:fs";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { runConformance, type Check } from "../../src/conformance/index.js";
import type { KitPlugin } from "../../src/conformance/kit-plugin.js";
import { brokenPlugin, KitSandbox, resultLines } from "./kit-sandbox.js";

let kit: KitSandbox;
beforeEach(async () => {
  kit = await KitSandbox.create();
});
afterEach(async () => {
  await kit.dispose();
});

test("a run that fails half-way, its plugin crashing mid-Start, leaves nothing behind", async () => {
  const r = await kit.run([
    "--plugin",
    brokenPlugin("crash"),
    "--focus",
    "^(lifecycle|persistence)",
    "--timeout",
    "20",
  ]);
  expect(r.code, r.stderr).toBe(1);
  const lines = resultLines(r.stdout);
  expect(lines.find(([, id]) => id === "lifecycle > Start reaches RUNNING")?.[0]).toBe("FAIL");
  expect(r.stdout).toMatch(
    /Start: expected the stream to end OK, got UNAVAILABLE: "plugin broken-crash \(pid \d+\) was killed by signal SIGKILL/,
  );
  // Checks that do not start the machine still pass: each check has its own plugin.
  expect(lines.find(([, id]) => id === "lifecycle > Remove leaves NONE")?.[0]).toBe("PASS");
  expect(await kit.processes()).toEqual([]);
  expect(await kit.leftovers()).toEqual([]);
}, 240_000);

test("Ctrl-C stops the run in a check, cleans up and exits 130", async () => {
  const run = kit.start(["--driver", "fake", "--focus", "^(Create|lifecycle)"]);
  // Interrupt once a machine-making check is under way: after the first one reported.
  for (let i = 0; i < 1200 && !run.stdout.includes("Create > progress is well-formed"); i++)
    await new Promise((r) => setTimeout(r, 50));
  expect(run.stdout).toContain("Create > progress is well-formed");
  run.child.kill("SIGINT");
  const r = await run.done;
  expect(r.code, r.stderr).toBe(130);
  expect(r.stderr).toContain("interrupted");
  // Not every check ran.
  expect(resultLines(r.stdout).length).toBeLessThan(15);
  expect(await kit.processes()).toEqual([]);
  expect(await kit.leftovers()).toEqual([]);
}, 120_000);

test("a check stopped while its plugin is being launched: the plugin that comes up afterwards is closed before the run ends", async () => {
  const hold = join(kit.box.root, "hold");
  const held = join(kit.box.root, "held");
  await writeFile(hold, "");
  let launching: Promise<KitPlugin> | undefined;
  const check: Check = {
    category: "lifecycle",
    name: "launches a plugin",
    usesInfo: false,
    async run(ctx) {
      launching = ctx.launch();
      await launching;
    },
  };
  const ac = new AbortController();
  const workDir = join(kit.box.root, "kit");
  const run = runConformance({
    plugin: brokenPlugin("held"),
    env: { DRIVERPLUG_TEST_HOLD_DIR: kit.box.root },
    checks: [check],
    signal: ac.signal,
    workDir,
    socketBaseDir: join(kit.box.runtimeDir, "driverplug"),
  });
  try {
    for (let i = 0; i < 1200 && !existsSync(held); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(held), "the plugin never started").toBe(true);
    // Stopped mid-launch; only then may the plugin finish starting.
    ac.abort();
    await rm(hold);
    const report = await run;
    expect(report.interrupted).toBe(true);
    const log = await readFile(held, "utf8");
    const pid = /^held (\d+)$/m.exec(log)?.[1];
    expect(log, "the late plugin was not closed by the kit's cleanup").toContain(`exited ${pid}`);
    expect(await kit.processes()).toEqual([]);
    expect(await kit.leftovers()).toEqual([]);
    expect(await readdir(workDir)).toEqual([]);
  } finally {
    await launching?.then((p) => p.close()).catch(() => {});
  }
}, 120_000);

test("a check body polling with ctx.pause() ends with its check when the run is stopped", async () => {
  let rounds = 0;
  let ended: unknown;
  const ac = new AbortController();
  const check: Check = {
    category: "lifecycle",
    name: "polls for ever",
    usesInfo: false,
    async run(ctx) {
      try {
        for (;;) {
          rounds++;
          if (rounds === 3) ac.abort();
          await ctx.pause(20);
        }
      } catch (err) {
        ended = err;
        throw err;
      }
    },
  };
  const report = await runConformance({ plugin: brokenPlugin("held"), checks: [check], signal: ac.signal });
  expect(report.interrupted).toBe(true);
  expect(report.results).toEqual([]);
  expect((ended as Error | undefined)?.name).toBe("AbortError");
  expect(rounds).toBe(3);
});
