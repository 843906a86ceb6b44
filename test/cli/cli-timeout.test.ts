// How long a machine command waits for its driver: --timeout <seconds> on
// every machine command, the defaults in --help, a driver that never answers
// ending the command at its limit with a message in seconds that names the
// call, the deadline reaching the driver, and on a terminal a "still waiting
// for the driver" line while it is silent.
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FIXTURES } from "../plugin/spawn-plugin.js";
import { DRIVERPLUG, expectOk, Sandbox } from "./driverplug-process.js";

const exec = promisify(execFile);
const SILENT = join(FIXTURES, "silent-driver.mjs");

let box: Sandbox;
let env: Record<string, string>;
beforeEach(async () => {
  box = await Sandbox.create();
  env = {
    DRIVERPLUG_PLUGIN_DIRS: await box.installPlugin("silent", SILENT),
    DRIVERPLUG_PASS_ENV: "FIXTURE_SILENT",
    FIXTURE_SILENT: "start,stop,getState",
  };
  await expectOk(box, ["create", "--driver", "silent", "m1"], env);
});
afterEach(async () => {
  await box.dispose();
});

const MACHINE_COMMANDS: readonly (readonly string[])[] = [
  ["create", "--driver", "fake"],
  ["start"],
  ["stop"],
  ["restart"],
  ["kill"],
  ["rm"],
  ["status"],
  ["ip"],
  ["url"],
  ["ssh-info"],
  ["ssh"],
  ["config", "get"],
  ["config", "set"],
  ["config", "update"],
];

describe("--timeout", () => {
  it("is on every machine command, its default stated in the command's --help and in driverplug --help", async () => {
    for (const command of MACHINE_COMMANDS) {
      const help = (await expectOk(box, [...command, "--help"])).stdout.replace(/\s+/g, " ");
      const query = ["status", "ip", "url", "ssh-info", "ssh", "get"].includes(command.at(-1)!);
      expect(help, command.join(" ")).toContain(
        `--timeout <seconds> how long to wait for the driver (its plugin's start and its answers) before giving up (default: ${query ? 30 : 600})`,
      );
    }
    const top = (await expectOk(box, ["--help"])).stdout;
    expect(top).toMatch(/^ {2}600 s +create, start, stop, restart, kill, rm, config set, config update/m);
    expect(top).toMatch(/^ {2}30 s +status, ip, url, ssh-info, ssh, config get$/m);
    expect(top).toMatch(/^ {2}10 s +ls, for each machine$/m);
  });

  it("ends a start whose driver never answers at the limit, naming the call in seconds, and the driver sees the deadline", async () => {
    const startedAt = Date.now();
    const r = await box.run(["start", "--timeout", "6.5", "m1"], env);
    const tookMs = Date.now() - startedAt;
    expect(r.code, r.stderr).toBe(5);
    expect(tookMs).toBeGreaterThanOrEqual(6_500);
    // Budgets leave a loaded 2-core machine time to start the plugin; far below the 600 s it waited before.
    expect(tookMs).toBeLessThan(30_000);
    expect(r.stderr).toContain(
      'driverplug: driver "silent" did not answer Start for machine "m1" within 6.5 s (give it longer with --timeout <seconds>; DRIVERPLUG_TRACE=1 shows what the driver logs meanwhile)\n',
    );
    expect(r.stderr).not.toMatch(/\d{4,} ?ms/);
    // The deadline crossed the wire: the driver's handler ended with DEADLINE_EXCEEDED, not a cancel.
    expect(r.stderr).toMatch(/WARN start ended unanswered reason="DEADLINE_EXCEEDED/);
    expect(await box.pluginDirs()).toEqual([]);
    expect(await box.locks()).toEqual([]);
  });

  it("bounds queries and changes alike, and under --json says so in the one object", async () => {
    const status = await box.run(["status", "m1", "--timeout", "6", "--json"], env);
    expect(status.code).toBe(5);
    expect(status.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(JSON.parse(status.stderr)).toMatchObject({
      error: {
        code: "DEADLINE_EXCEEDED",
        exitCode: 5,
        message: 'driver "silent" did not answer GetState for machine "m1" within 6 s',
        machine: "m1",
        hint: expect.stringContaining("--timeout <seconds>"),
      },
    });
    await expectOk(box, ["start", "m1"], { ...env, FIXTURE_SILENT: "" });
    const stop = await box.run(["stop", "--timeout=6.5", "m1"], env);
    expect(stop.code).toBe(5);
    expect(stop.stderr).toMatch(/did not answer Stop for machine "m1" within 6\.5 s/);
  });

  it("bounds the plugin's start too", async () => {
    // A machine whose driver's plugin never prints its handshake.
    const dir = join(box.root, "mute");
    await mkdir(dir, { mode: 0o700 });
    await writeFile(join(dir, "driverplug-driver-mute"), "#!/bin/sh\nexec sleep 60\n", { mode: 0o755 });
    await mkdir(join(box.store, "machines", "m2"), { mode: 0o700 });
    await writeFile(box.configPath("m2"), JSON.stringify({ version: 1, driver: "mute", config: {} }));
    const r = await box.run(["status", "m2", "--timeout", "1.5"], { DRIVERPLUG_PLUGIN_DIRS: dir });
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toMatch(/^driverplug: driver "mute" did not start its plugin within 1\.5 s/);
    expect(await box.pluginDirs()).toEqual([]);
  });
});

describe("still waiting for the driver", () => {
  it("is said on a terminal while the driver is silent, and never into a pipe", async () => {
    // `script` gives the command a terminal (util-linux, in every Debian: bsdutils).
    const line = `${DRIVERPLUG} start --timeout 12 m1`;
    const tty = await exec("script", ["-qec", line, "/dev/null"], { env: box.env(env) }).then(
      () => {
        throw new Error("start should have failed");
      },
      (err: { stdout: string; code: number }) => err,
    );
    const shown = tty.stdout.replace(/\r/g, "");
    expect(shown).toMatch(/^driverplug: still waiting for the driver \(10 s so far, gives up at 12 s\)$/m);
    // The notice comes first, then the end at the limit.
    expect(shown.indexOf("still waiting")).toBeLessThan(shown.indexOf("did not answer Start"));
    const piped = await box.run(["start", "--timeout", "11", "m1"], env);
    expect(piped.code).toBe(5);
    expect(piped.stderr).not.toContain("still waiting");
  }, 60_000);
});
