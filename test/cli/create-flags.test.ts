// Driver create flags as command-line options: typed parsing, repeatable and
// comma-separated lists, --no-<bool>, environment fallback, and help text.
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { FlagType, type CreateFlag } from "../../generated/driverplug/driver/v1/driver.js";
import { driverFlagOptions } from "../../src/cli/create-flags.js";

const flags: CreateFlag[] = [
  {
    name: "cpus",
    usage: "Number of CPUs",
    type: FlagType.FLAG_TYPE_INT,
    defaultValue: { kind: { $case: "intValue", value: 2n } },
    envVar: "T_CPUS",
  },
  {
    name: "networks",
    usage: "Networks",
    type: FlagType.FLAG_TYPE_STRING_LIST,
    defaultValue: { kind: { $case: "stringListValue", value: { values: ["default"] } } },
    envVar: "T_NETWORKS",
  },
  {
    name: "headless",
    usage: "No display",
    type: FlagType.FLAG_TYPE_BOOL,
    defaultValue: { kind: { $case: "boolValue", value: true } },
    envVar: "T_HEADLESS",
  },
  { name: "disk-image", usage: "Base image", type: FlagType.FLAG_TYPE_STRING, defaultValue: undefined, envVar: "" },
];

function parse(args: string[], env: NodeJS.ProcessEnv = {}) {
  const cmd = new Command("create")
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  const built = driverFlagOptions("t", flags, ["driver", "json"]);
  for (const o of built.options) cmd.addOption(o);
  cmd.argument("<name>");
  cmd.parse(args, { from: "user" });
  return built.collect(cmd.opts(), env);
}

describe("driver create flags", () => {
  it("sends only the flags given, typed", () => {
    expect(parse(["--cpus", "4", "--disk-image", "img", "m1"])).toEqual({
      cpus: { kind: { $case: "intValue", value: 4n } },
      "disk-image": { kind: { $case: "stringValue", value: "img" } },
    });
    expect(parse(["m1"])).toEqual({});
  });

  it("accepts string lists repeated and comma-separated", () => {
    expect(parse(["--networks", "a,b", "--networks", "c", "m1"])).toEqual({
      networks: { kind: { $case: "stringListValue", value: { values: ["a", "b", "c"] } } },
    });
  });

  it("turns a bool on with --name and off with --no-name", () => {
    expect(parse(["--headless", "m1"])).toEqual({ headless: { kind: { $case: "boolValue", value: true } } });
    expect(parse(["--no-headless", "m1"])).toEqual({ headless: { kind: { $case: "boolValue", value: false } } });
  });

  it("rejects a non-integer for an int flag before calling the driver", () => {
    expect(() => parse(["--cpus", "two", "m1"])).toThrow(
      /option '--cpus <int>' argument 'two' is invalid. Expected an integer./,
    );
  });

  it("falls back to the flag's environment variable, parsed by type; the command line wins", () => {
    const env = { T_CPUS: "8", T_NETWORKS: "x, y", T_HEADLESS: "false" };
    expect(parse(["m1"], env)).toEqual({
      cpus: { kind: { $case: "intValue", value: 8n } },
      networks: { kind: { $case: "stringListValue", value: { values: ["x", "y"] } } },
      headless: { kind: { $case: "boolValue", value: false } },
    });
    expect(parse(["--cpus", "3", "m1"], env).cpus).toEqual({ kind: { $case: "intValue", value: 3n } });
  });

  it("names the environment variable when its value has the wrong type", () => {
    expect(() => parse(["m1"], { T_CPUS: "lots" })).toThrow(
      /environment variable T_CPUS="lots" \(for --cpus\) is not an integer/,
    );
  });

  it("shows type, default and environment variable in help", () => {
    const cmd = new Command("create");
    for (const o of driverFlagOptions("t", flags, []).options) cmd.addOption(o);
    // Collapse the wrapping commander does for narrow terminals.
    const help = cmd.helpInformation().replace(/\s+/g, " ");
    expect(help).toMatch(/--cpus <int> Number of CPUs \(int, default: 2, env: T_CPUS\)/);
    expect(help).toMatch(
      /--networks <list> Networks \(string list, repeat or comma-separate, default: default, env: T_NETWORKS\)/,
    );
    expect(help).toMatch(/--headless No display \(bool, --no-headless to turn off, default: true, env: T_HEADLESS\)/);
    expect(help).toMatch(/--disk-image <string> Base image \(string\)/);
  });

  it("refuses a driver flag that would shadow one of driverplug's options", () => {
    expect(() => driverFlagOptions("t", [{ ...flags[0]!, name: "json" }], ["driver", "json"])).toThrow(
      /--json, which clashes/,
    );
  });
});
