// What a plugin prints reaches the terminal only escaped: a driver that puts
// OSC 0 (window title), ESC[2J, OSC 8 links, OSC 52 clipboard writes, 8-bit
// CSI and forged "driverplug: ..." lines into every text the CLI shows
// (create-flag usage in --help, inspect, progress, WARN log lines and their
// @module, error details, ls's IP and ERROR columns, ip, the stderr tail of a
// plugin that died). Every command's output must hold no control character
// but tab and newline, and no line the plugin forged, while the plugin's text
// is still there, visibly escaped.
import { mkdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { printable } from "../../src/host/printable-text.js";
import { Sandbox, type Result } from "../cli/driverplug-process.js";
import { Figures } from "./figures.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/escape-driver.mjs", import.meta.url));
const figures = new Figures("plugin-text");
for (const key of ["commands", "outputsChecked", "controlCharsPassed", "forgedLines", "escapedShown"])
  figures.set(key, 0);
afterAll(() => figures.print());

const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;
const FORGED_LINE = /^driverplug: Machine "prod" removed\.$/m;
/** How the fixture's OSC 0 shows once escaped. */
const ESCAPED_MARK = "\\e]0;pwned\\x07";

let box: Sandbox;
let env: Record<string, string>;
beforeEach(async () => {
  box = await Sandbox.create();
  const plugins = join(box.root, "plugins");
  await mkdir(plugins, { mode: 0o700 });
  await symlink(FIXTURE, join(plugins, "driverplug-driver-nasty"));
  env = { DRIVERPLUG_PLUGIN_DIRS: plugins };
});
afterEach(async () => {
  await box.dispose();
});

/** Runs a command and checks all it wrote; `expectCode` as the command should end. */
async function run(args: string[], expectCode: number, where: "stdout" | "stderr"): Promise<Result> {
  const r = await box.run(args, env);
  figures.add("commands");
  // 0 for success; any failure code where the command must fail.
  if (expectCode === 0) expect(r.code, `driverplug ${args.join(" ")}: ${r.stdout}${r.stderr}`).toBe(0);
  else expect(r.code, `driverplug ${args.join(" ")}: ${r.stdout}${r.stderr}`).toBeGreaterThan(0);
  for (const text of [r.stdout, r.stderr]) {
    figures.add("outputsChecked");
    const raw = RAW_CONTROL.exec(text);
    if (raw) figures.add("controlCharsPassed");
    expect(raw, `a raw control character in the output of ${args.join(" ")}: ${JSON.stringify(text)}`).toBeNull();
    if (FORGED_LINE.test(text)) figures.add("forgedLines");
    expect(text).not.toMatch(FORGED_LINE);
  }
  // The plugin's text is shown, escaped: the sink was exercised, not skipped.
  expect(r[where]).toContain(ESCAPED_MARK);
  figures.add("escapedShown");
  return r;
}

describe("plugin text on the CLI's terminal", () => {
  it("printable() escapes C0 (but tab), DEL and C1, and keeps everything else", () => {
    expect(printable("a\tb\nc\rd\x1b[2J\x07\x7f\x9b\u00e9\u4e2d")).toBe(
      "a\tb\\nc\\rd\\e[2J\\x07\\x7f\\x9b\u00e9\u4e2d",
    );
  });

  it("create-flag usage in --help and inspect", async () => {
    const help = await run(["create", "--driver", "nasty", "--help"], 0, "stdout");
    expect(help.stdout).toContain("--size");
    await run(["inspect", "nasty"], 0, "stdout");
  });

  it("progress, WARN log lines with their @module, and what create prints", async () => {
    const r = await run(["create", "--driver", "nasty", "m1"], 0, "stderr");
    expect(r.stderr).toContain("half way");
    expect(r.stderr).toContain("creating");
    expect(r.stderr).toContain("mod\\e]0;pwned");
  });

  it("error details, ip, ls's IP and ERROR columns, and the stderr tail of a dead plugin", async () => {
    await run(["create", "--driver", "nasty", "m1"], 0, "stderr");
    await run(["create", "--driver", "nasty", "--config", '{"broken": true}', "m2"], 0, "stderr");
    const start = await run(["start", "m1"], 1, "stderr");
    expect(start.stderr).toContain("cannot start");
    await run(["ip", "m1"], 0, "stdout");
    const ls = await run(["ls"], 0, "stdout");
    // One row per machine, whatever the plugin put in its text.
    expect(ls.stdout.trimEnd().split("\n")).toHaveLength(3);
    expect(ls.stdout).toContain("state unknown");
    const stop = await run(["stop", "m1"], 1, "stderr");
    expect(stop.stderr).toContain("exited with code 3");
    expect(stop.stderr).toContain("dying");
  });
});
