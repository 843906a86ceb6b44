// The CLI's hints on a driver that is not the fake one: they name that driver
// and its own config fields, and never repeat what the driver's message says.
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FIXTURES } from "../plugin/spawn-plugin.js";
import { expectOk, Sandbox } from "./driverplug-process.js";

const LAB = { DRIVERPLUG_PLUGIN_DIRS: join(FIXTURES, "lab") };

let box: Sandbox;
beforeEach(async () => {
  box = await Sandbox.create();
});
afterEach(async () => {
  await box.dispose();
});

/** Every run of three words that occurs more than once in `text`. */
function repeatedPhrases(text: string): string[] {
  const words = text.toLowerCase().match(/[a-z0-9-]+/g) ?? [];
  const seen = new Map<string, number>();
  for (let i = 0; i + 3 <= words.length; i++) {
    const phrase = words.slice(i, i + 3).join(" ");
    seen.set(phrase, (seen.get(phrase) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([p]) => p);
}

describe("hints", () => {
  it("refusing rm of a running machine adds the commands, not a second 'stop it first'", async () => {
    await expectOk(box, ["create", "--driver", "lab", "m1"], LAB);
    await expectOk(box, ["start", "m1"], LAB);
    const r = await box.run(["rm", "m1"], LAB);
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(
      `driverplug: Remove failed (FAILED_PRECONDITION): the lab machine is running; stop it first (run "driverplug stop m1", then rm again, or "driverplug rm --force m1" to kill it and remove it)\n`,
    );
    expect(repeatedPhrases(r.stderr)).toEqual([]);
    await expectOk(box, ["rm", "--force", "m1"], LAB);
    expect(await box.machines()).toEqual([]);
  });

  it("a bad create --config names the driver and shows a field of its own", async () => {
    const r = await box.run(["create", "--driver", "lab", "--config", "{memory: 1}", "m1"], LAB);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^driverplug: --config is not JSON \(.+\): give an object of driver "lab"'s config fields such as '\{"memoryMib": 1024\}'\n$/,
    );
    expect(r.stderr).not.toMatch(/fake|stepDelayMs/);
  });

  it("a bad config update names the machine's driver and one of the machine's own fields", async () => {
    await expectOk(box, ["create", "--driver", "lab", "--memory-mib", "2048", "m1"], LAB);
    const r = await box.run(["config", "update", "m1", "[1]"], LAB);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `driverplug: the argument must be a JSON object of driver "lab"'s config fields, such as '{"memoryMib": 2048}'\n`,
    );
    await expectOk(box, ["rm", "m1"], LAB);
  });

  it("an empty store's ls names no driver but says how to list them", async () => {
    const r = await box.run(["ls"], LAB);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /"driverplug create --driver <driver> <name>" makes one \("driverplug drivers" lists the drivers\)/,
    );
    expect(r.stdout).not.toContain("fake");
  });
});
