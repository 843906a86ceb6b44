// What a user sees when something is wrong: help with the driver's flags,
// machine-readable --json, the driver's own INVALID_ARGUMENT message, an
// unknown driver with the places looked, and a corrupted config.json that is
// named and left byte for byte as it was.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { expectOk, Sandbox } from "./driverplug-process.js";

let box: Sandbox;
beforeEach(async () => {
  box = await Sandbox.create();
});
afterEach(async () => {
  await box.dispose();
});

describe("help", () => {
  it("lists every command at the top level", async () => {
    const r = await box.run(["--help"]);
    expect(r.code, r.stderr).toBe(0);
    for (const cmd of [
      "create",
      "start",
      "stop",
      "restart",
      "kill",
      "rm",
      "status",
      "ls",
      "ip",
      "url",
      "ssh-info",
      "config",
      "inspect",
      "drivers",
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^  ${cmd}\\b`, "m"));
    }
  });

  it("lists the driver's create flags with type, default and env var under create --driver fake --help", async () => {
    const r = await box.run(["create", "--driver", "fake", "--help"]);
    expect(r.code, r.stderr).toBe(0);
    const help = r.stdout.replace(/\s+/g, " ");
    expect(help).toContain("Driver flags (fake):");
    expect(help).toContain("--cpus <int> Number of virtual CPUs (int, default: 2, env: FAKE_CPUS)");
    expect(help).toContain(
      "--network <list> Networks to attach the machine to (string list, repeat or comma-separate, default: default, env: FAKE_NETWORK)",
    );
    expect(help).toMatch(
      /--nested-virt .*\(bool, --no-nested-virt to turn off, default: false, env: FAKE_NESTED_VIRT\)/,
    );
    expect(await box.pluginDirs()).toEqual([]);
  });

  it("says how to see driver flags when create --help has no driver", async () => {
    const r = await box.run(["create", "--help"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/add --driver <name> to see that driver's create flags/);
  });

  it("gives a one-line usage error pointing at the command's help", async () => {
    const r = await box.run(["status"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`driverplug: missing required argument 'machine' (see "driverplug status --help")\n`);
  });
});

describe("--json", () => {
  it("prints JSON that parses from every read command", async () => {
    await expectOk(box, ["create", "--driver", "fake", "m1"]);
    await expectOk(box, ["start", "m1"]);
    const json = async (args: string[]) => {
      const r = await box.run([...args, "--json"]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as unknown;
    };
    const [status, ip, url, ssh, ls, config, inspect, drivers] = await Promise.all([
      json(["status", "m1"]),
      json(["ip", "m1"]),
      json(["url", "m1"]),
      json(["ssh-info", "m1"]),
      json(["ls"]),
      json(["config", "get", "m1"]),
      json(["inspect", "fake"]),
      json(["drivers"]),
    ]);
    expect(status).toEqual({ name: "m1", driver: "fake", state: "Running" });
    expect(ip).toMatchObject({ name: "m1", ip: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/) });
    expect(url).toMatchObject({ name: "m1", url: expect.stringMatching(/^tcp:\/\//) });
    expect(ssh).toMatchObject({
      name: "m1",
      port: 22,
      keyPath: expect.stringContaining(join(box.store, "machines", "m1")),
    });
    expect(ls).toEqual([{ name: "m1", driver: "fake", state: "Running", ip: (ip as { ip: string }).ip }]);
    expect(config).toMatchObject({ machineName: "m1", cpus: 2 });
    expect(inspect).toMatchObject({
      name: "fake",
      apiVersions: [1],
      capabilities: expect.arrayContaining(["watch-state", "ssh"]),
    });
    expect((inspect as { createFlags: { name: string }[] }).createFlags.map((f) => f.name)).toContain("cpus");
    expect(drivers).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: "fake", source: "bundled", shadowed: false })]),
    );
    await expectOk(box, ["rm", "--force", "m1"]);
  });
});

describe("errors", () => {
  it("shows the driver's INVALID_ARGUMENT message for a bad flag value and leaves no machine", async () => {
    const r = await box.run(["create", "--driver", "fake", "--cpus", "0", "m1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^driverplug: SetConfigFromFlags failed \(INVALID_ARGUMENT\): flag "cpus": config field "cpus" must be between 1 and 64, got 0\n$/m,
    );
    expect(await box.machines()).toEqual([]);
    expect(await box.locks()).toEqual([]);
    expect(await box.pluginDirs()).toEqual([]);
  });

  it("refuses a non-integer for an int flag before launching anything further", async () => {
    const r = await box.run(["create", "--driver", "fake", "--cpus", "two", "m1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/option '--cpus <int>' argument 'two' is invalid. Expected an integer/);
    expect(await box.machines()).toEqual([]);
  });

  it("takes a flag's value from its environment variable", async () => {
    const r = await box.run(["create", "--driver", "fake", "m1"], { FAKE_CPUS: "5", FAKE_NETWORK: "x,y" });
    expect(r.code, r.stderr).toBe(0);
    expect((await box.readConfig("m1")).config).toMatchObject({ cpus: 5, networks: ["x", "y"] });
  });

  it("names every place it looked for an unknown driver", async () => {
    const pluginDir = join(box.root, "plugins");
    await mkdir(pluginDir);
    const r = await box.run(["create", "--driver", "nosuch", "m1"], {
      DRIVERPLUG_PLUGIN_DIRS: pluginDir,
      PATH: `/usr/bin:/bin`,
    });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('driver plugin "nosuch" not found');
    expect(r.stderr).toContain(`${pluginDir}/driverplug-driver-nosuch (plugin dir)`);
    expect(r.stderr).toContain("/usr/bin/driverplug-driver-nosuch (PATH)");
    expect(await box.machines()).toEqual([]);
  });

  it("finds a driver in DRIVERPLUG_PLUGIN_DIRS and lists it under drivers", async () => {
    const pluginDir = await mkdtemp(join(box.root, "p-"));
    const plugin = join(pluginDir, "driverplug-driver-other");
    await writeFile(plugin, "#!/bin/sh\nexit 1\n");
    await chmod(plugin, 0o755);
    const r = await box.run(["drivers"], { DRIVERPLUG_PLUGIN_DIRS: pluginDir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^fake +bundled +\S+driverplug-driver-fake$/m);
    expect(r.stdout).toMatch(new RegExp(`^other +plugin dir +${plugin}$`, "m"));
    await rm(pluginDir, { recursive: true });
  });

  it("names a corrupted config.json, never rewrites it, and still lists the other machines", async () => {
    await expectOk(box, ["create", "--driver", "fake", "good"]);
    await expectOk(box, ["create", "--driver", "fake", "bad"]);
    const garbage = Buffer.from('{"version":1,"driver":"fake","config":{"cpus":\u0000 oops');
    await writeFile(box.configPath("bad"), garbage);

    for (const args of [
      ["status", "bad"],
      ["start", "bad"],
      ["config", "set", "bad", "cpus", "3"],
      ["rm", "bad"],
    ]) {
      const r = await box.run(args);
      expect(r.code, args.join(" ")).toBe(4);
      expect(r.stderr).toMatch(
        new RegExp(
          `^driverplug: ${escape(box.configPath("bad"))} is not a valid machine config \\(not JSON: .*\\); it was left unchanged: .*\\n$`,
        ),
      );
      expect(Buffer.compare(await readFile(box.configPath("bad")), garbage)).toBe(0);
    }

    const ls = await box.run(["ls"]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^bad +- +Error +- +.*config\.json is not a valid machine config/m);
    expect(ls.stdout).toMatch(/^good +fake +Stopped +-/m);
    expect(Buffer.compare(await readFile(box.configPath("bad")), garbage)).toBe(0);
    expect(await box.locks()).toEqual([]);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
