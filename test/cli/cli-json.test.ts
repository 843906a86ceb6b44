// --json on every command, for apps: what was done and the final state on
// stdout; a failure as one JSON object on stderr (code name, message,
// machine, hint); and an exit code per class of failure, listed in --help.
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FIXTURES } from "../plugin/spawn-plugin.js";
import { expectOk, Sandbox, type Result } from "./driverplug-process.js";

const MISBEHAVING = resolve(fileURLToPath(new URL("../fixtures/plugins/misbehaving-driver.mjs", import.meta.url)));

let box: Sandbox;
beforeEach(async () => {
  box = await Sandbox.create();
});
afterEach(async () => {
  await box.dispose();
});

async function json(args: string[], env: Record<string, string> = {}): Promise<unknown> {
  const r = await expectOk(box, [...args, "--json"], env);
  expect(r.stderr, `driverplug ${args.join(" ")} --json wrote to stderr`).toBe("");
  return JSON.parse(r.stdout);
}

interface JsonError {
  error: { code: string; exitCode: number; message: string; machine: string | null; hint: string | null };
}

/** A failing command under --json: nothing on stdout, exactly one JSON object on stderr. */
function failure(r: Result, exitCode: number): JsonError["error"] {
  expect(r.code, r.stderr).toBe(exitCode);
  expect(r.stdout).toBe("");
  expect(r.stderr.endsWith("\n")).toBe(true);
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  const parsed = JSON.parse(r.stderr) as JsonError;
  expect(Object.keys(parsed)).toEqual(["error"]);
  expect(parsed.error.exitCode).toBe(exitCode);
  return parsed.error;
}

describe("--json on every command", () => {
  it("prints what each command did and the machine's final state", async () => {
    expect(await json(["create", "--driver", "fake", "m1"])).toEqual({
      machine: "m1",
      driver: "fake",
      action: "create",
      state: "Stopped",
      storePath: join(box.store, "machines", "m1"),
    });
    expect(await json(["start", "m1"])).toEqual({ machine: "m1", driver: "fake", action: "start", state: "Running" });
    expect(await json(["status", "m1"])).toEqual({ name: "m1", driver: "fake", state: "Running" });
    expect(await json(["ip", "m1"])).toEqual({ name: "m1", ip: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/) });
    expect(await json(["url", "m1"])).toMatchObject({ name: "m1", url: expect.any(String) });
    expect(await json(["ssh-info", "m1"])).toMatchObject({ name: "m1", port: expect.any(Number) });
    expect(await json(["restart", "m1"])).toMatchObject({ action: "restart", state: "Running" });
    expect(await json(["kill", "m1"])).toMatchObject({ action: "kill", state: "Stopped" });
    expect(await json(["start", "m1"])).toMatchObject({ action: "start", state: "Running" });
    expect(await json(["stop", "m1"])).toMatchObject({ action: "stop", state: "Stopped" });
    expect(await json(["config", "set", "m1", "cpus", "4"])).toMatchObject({
      machine: "m1",
      action: "config update",
      changed: ["cpus"],
      config: { cpus: 4, machineName: "m1" },
    });
    expect(await json(["config", "update", "m1", '{"memoryMiB": 4096}'])).toMatchObject({
      changed: ["memoryMiB"],
      config: { cpus: 4, memoryMiB: 4096 },
    });
    expect(await json(["config", "get", "m1", "cpus"])).toBe(4);
    expect(await json(["ls"])).toEqual([{ name: "m1", driver: "fake", state: "Stopped", ip: "-" }]);
    expect(await json(["drivers"])).toEqual(expect.arrayContaining([expect.objectContaining({ name: "fake" })]));
    expect(await json(["inspect", "fake"])).toMatchObject({ name: "fake", capabilities: expect.any(Array) });
    expect(await json(["rm", "m1"])).toEqual({ machine: "m1", action: "rm", removed: true, killed: false });
    expect(await box.machines()).toEqual([]);
    expect(await box.pluginDirs()).toEqual([]);
  });
});

describe("failures under --json and exit codes", () => {
  it("gives each class of failure its own exit code and one JSON object naming the machine", async () => {
    // Usage: a bad name, an unknown option.
    expect(failure(await box.run(["status", "Bad Name!", "--json"]), 2)).toMatchObject({ code: "USAGE" });
    expect(failure(await box.run(["status", "m1", "--json", "--no-such-option"]), 2)).toMatchObject({
      code: "USAGE",
      message: expect.stringMatching(/unknown option '--no-such-option'/),
    });
    // Not found.
    expect(failure(await box.run(["status", "ghost", "--json"]), 3)).toMatchObject({
      code: "NOT_FOUND",
      machine: "ghost",
      message: expect.stringMatching(/^no machine named "ghost"/),
    });
    // Preconditions: the machine exists already, or runs.
    await expectOk(box, ["create", "--driver", "fake", "m1"]);
    expect(failure(await box.run(["create", "--driver", "fake", "m1", "--json"]), 4)).toMatchObject({
      code: "FAILED_PRECONDITION",
      machine: "m1",
    });
    expect(failure(await box.run(["ip", "m1", "--json"]), 4)).toMatchObject({
      code: "FAILED_PRECONDITION",
      machine: "m1",
      message: expect.stringMatching(/^GetIP failed \(FAILED_PRECONDITION\)/),
    });
    await expectOk(box, ["start", "m1"]);
    expect(failure(await box.run(["rm", "m1", "--json"]), 4)).toMatchObject({ code: "FAILED_PRECONDITION" });
    // A driver's value check is the user's input: usage.
    expect(failure(await box.run(["config", "set", "m1", "cpus", "-1", "--json"]), 2)).toMatchObject({
      code: "INVALID_ARGUMENT",
    });

    // A driver that lacks the method: a driver error, with its hint.
    const pluginDir = join(box.root, "plugins");
    await mkdir(pluginDir);
    await writeFile(join(pluginDir, "driverplug-driver-misbehaving"), `#!/bin/sh\nexec '${MISBEHAVING}'\n`);
    await chmod(join(pluginDir, "driverplug-driver-misbehaving"), 0o755);
    await mkdir(join(box.store, "machines", "odd"), { mode: 0o700 });
    await writeFile(box.configPath("odd"), JSON.stringify({ version: 1, driver: "misbehaving", config: {} }));
    const env = { DRIVERPLUG_PLUGIN_DIRS: pluginDir };
    expect(failure(await box.run(["ip", "odd", "--json"], env), 5)).toMatchObject({
      code: "UNIMPLEMENTED",
      machine: "odd",
      hint: "this driver does not support it",
    });
    // A plugin that cannot be found: unavailable.
    await mkdir(join(box.store, "machines", "lost"), { mode: 0o700 });
    await writeFile(box.configPath("lost"), JSON.stringify({ version: 1, driver: "nowhere", config: {} }));
    expect(failure(await box.run(["status", "lost", "--json"]), 6)).toMatchObject({
      code: "UNAVAILABLE",
      machine: "lost",
      hint: expect.stringMatching(/DRIVERPLUG_PLUGIN_DIRS/),
    });
    // Without --json the same failure is one line of text with the same exit code.
    const text = await box.run(["status", "ghost"]);
    expect(text.code).toBe(3);
    expect(text.stderr).toMatch(/^driverplug: no machine named "ghost"/);
    expect(await box.pluginDirs()).toEqual([]);
  });

  it("lists the exit codes in driverplug --help", async () => {
    const help = (await expectOk(box, ["--help"])).stdout;
    for (const [code, name] of [
      ["0", "OK"],
      ["1", "UNEXPECTED"],
      ["2", "USAGE"],
      ["3", "NOT_FOUND"],
      ["4", "FAILED_PRECONDITION"],
      ["5", "DRIVER_ERROR"],
      ["6", "UNAVAILABLE"],
      ["7", "RESOURCE_EXHAUSTED"],
      ["130", "INTERRUPTED"],
    ])
      expect(help).toMatch(new RegExp(`^  ${code} +${name} +\\S`, "m"));
  });
});

describe("under --json stderr is one JSON object, whatever happens", () => {
  const SILENT = join(FIXTURES, "silent-driver.mjs");
  const HOLLOW = join(FIXTURES, "empty-config-driver.mjs");

  it("a Ctrl-C: the interrupted object, and no text line before it", async () => {
    const env = {
      DRIVERPLUG_PLUGIN_DIRS: await box.installPlugin("silent", SILENT),
      DRIVERPLUG_PASS_ENV: "FIXTURE_SILENT",
      FIXTURE_SILENT: "start",
    };
    await expectOk(box, ["create", "--driver", "silent", "m1"], env);
    const start = box.start(["start", "m1", "--json"], env);
    // Its plugin is up and it holds the machine's lock: Start is under way.
    while ((await box.pluginDirs()).length === 0 || !(await box.locks()).includes("m1.lock"))
      await new Promise((r) => setTimeout(r, 50));
    start.child.kill("SIGINT");
    const r = await start.done;
    expect(failure(r, 130)).toMatchObject({ code: "INTERRUPTED", machine: "m1", message: expect.any(String) });
    expect(r.stderr).not.toContain("stopping cleanly");
    expect(await box.pluginDirs()).toEqual([]);
  });

  it("rm of a running machine: the hint in its own field, the machine named once in the message", async () => {
    await expectOk(box, ["create", "--driver", "fake", "m1"]);
    await expectOk(box, ["start", "m1"]);
    const error = failure(await box.run(["rm", "m1", "--json"]), 4);
    expect(error).toMatchObject({
      code: "FAILED_PRECONDITION",
      machine: "m1",
      hint: 'run "driverplug stop m1", then rm again, or "driverplug rm --force m1" to kill it and remove it',
    });
    expect(error.message).toMatch(/^Remove failed \(FAILED_PRECONDITION\): /);
    expect(error.message).not.toContain("driverplug stop");
    expect(error.message.split('"m1"')).toHaveLength(2);
    // People read the hint after the message.
    const text = await box.run(["rm", "m1"]);
    expect(text.stderr).toBe(`driverplug: ${error.message} (${error.hint})\n`);
  });

  it("a driver returning an unusable config at create is the driver's fault (exit 5), not an unexpected error", async () => {
    const env = { DRIVERPLUG_PLUGIN_DIRS: await box.installPlugin("hollow", HOLLOW) };
    const error = failure(await box.run(["create", "--driver", "hollow", "m1", "--json"], env), 5);
    expect(error).toMatchObject({ code: "DRIVER_ERROR", machine: "m1" });
    expect(error.message).toMatch(/^driver "hollow" returned an unusable config \(.+\); nothing was stored/);
    const text = await box.run(["create", "--driver", "hollow", "m1"], env);
    expect(text.code).toBe(5);
    expect(text.stderr).not.toContain("unexpected error");
    expect(await box.machines()).toEqual([]);
  });

  it("the plugins' warnings and errors (a stack among them) and Node's warnings go into the object's logs", async () => {
    const warn = join(box.root, "warn.cjs");
    await writeFile(warn, 'setImmediate(() => process.emitWarning("a warning of the CLI process"));\n');
    const env = {
      DRIVERPLUG_PLUGIN_DIRS: await box.installPlugin("silent", SILENT),
      DRIVERPLUG_PASS_ENV: "FIXTURE_SILENT",
      FIXTURE_SILENT: "start",
    };
    await expectOk(box, ["create", "--driver", "silent", "m1"], env);
    const started = await box.run(["start", "m1", "--json", "--timeout", "6"], {
      ...env,
      NODE_OPTIONS: `--require ${warn}`,
    });
    const error = failure(started, 5) as JsonError["error"] & {
      logs: { level: string; source: string; message: string }[];
    };
    expect(started.stderr).not.toMatch(/\(node:\d+\)|WARN|Warning:/);
    expect(error.logs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: "warn", source: "silent", message: "start ended unanswered" }),
        expect.objectContaining({ level: "warn", source: "node", message: "a warning of the CLI process" }),
      ]),
    );
    // An unexpected exception in the driver: its stack is logged at error, and kept in the object only.
    await expectOk(box, ["start", "m1"], { ...env, FIXTURE_SILENT: "" });
    const ip = await box.run(["ip", "m1", "--json"], env);
    const ipError = failure(ip, 5) as JsonError["error"] & {
      logs: { level: string; message: string; fields: object }[];
    };
    expect(ipError.code).toBe("INTERNAL");
    const logged = JSON.stringify(ipError.logs);
    expect(logged).toContain("boom from the driver's GetIP");
    expect(logged).toMatch(/at .*silent-driver\.mjs/);
    expect(ip.stderr).not.toMatch(/^\[silent/m);
    // Without --json the same records are lines, as before.
    expect((await box.run(["ip", "m1"], env)).stderr).toMatch(/^\[silent silent\] ERROR /m);
  });
});
