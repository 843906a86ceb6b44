// The kit's own cleanup: whatever happens to a check (the plugin crashes
// mid-Start, checks fail one after another, the user presses Ctrl-C), no
// plugin process, socket or store dir is left once the command has exited.
import { afterEach, beforeEach, expect, test } from "vitest";
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
