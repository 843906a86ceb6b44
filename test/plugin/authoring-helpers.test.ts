// The driver author's helpers as plain functions: typed flag descriptors and
// reading SetConfigFromFlags values by type, the JSON config codec on both
// sides, and the names serve() takes for misnamed RPC methods. The fake
// driver's tests run the same helpers in a real plugin.
import { describe, expect, it } from "vitest";
import { DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import {
  jsonConfig as hostJsonConfig,
  intValue,
  stringListValue,
  stringValue,
  boolValue,
} from "../../src/host/index.js";
import { intendedRpc } from "../../src/plugin/driver-methods.js";
import {
  boolFlag,
  Code,
  DriverError,
  FlagType,
  intFlag,
  invalidArgument,
  jsonConfig,
  readFlags,
  serve,
  stringFlag,
  stringListFlag,
  type Driver,
} from "../../src/plugin/index.js";

describe("flag descriptors", () => {
  it("are the CreateFlag GetCreateFlags returns", () => {
    expect(intFlag("cpus", { default: 1, env: "X_CPUS", usage: "CPUs" })).toMatchObject({
      name: "cpus",
      type: FlagType.FLAG_TYPE_INT,
      usage: "CPUs",
      envVar: "X_CPUS",
      defaultValue: { kind: { $case: "intValue", value: 1n } },
    });
    expect(stringFlag("bundle")).toMatchObject({ type: FlagType.FLAG_TYPE_STRING, usage: "", envVar: "" });
    expect(stringFlag("bundle").defaultValue).toBeUndefined();
    expect(stringListFlag("net", { default: ["a"] }).defaultValue).toEqual(stringListValue(["a"]));
    expect(boolFlag("nested", { default: false }).defaultValue).toEqual(boolValue(false));
  });

  it("refuse a name that is no option name, and an int default that is no safe integer", () => {
    expect(() => intFlag("two words")).toThrow(/flag name "two words"/);
    expect(() => intFlag("cpus", { default: 1.5 })).toThrow(/default must be a safe integer, got 1.5/);
  });

  it("read SetConfigFromFlags values by type, only the flags given", () => {
    const flags = [intFlag("cpus"), stringListFlag("network"), boolFlag("nested"), stringFlag("bundle")] as const;
    const values = readFlags(flags, {
      cpus: intValue(4),
      network: stringListValue(["a", "b"]),
      nested: boolValue(true),
    });
    expect(values).toEqual({ cpus: 4, network: ["a", "b"], nested: true });
    // The result is typed by flag name.
    const cpus: number | undefined = values.cpus;
    expect(cpus).toBe(4);
  });

  it("refuse an unknown flag, a wrong type and an int out of range, INVALID_ARGUMENT naming the flag", () => {
    const flags = [intFlag("cpus"), stringFlag("bundle")] as const;
    const cases: Array<[Parameters<typeof readFlags>[1], string]> = [
      [{ colour: stringValue("red") }, 'unknown flag "colour"; the flags are cpus, bundle'],
      [{ cpus: stringValue("4") }, 'flag "cpus" takes an int, got a string'],
      [{ bundle: { kind: undefined } }, 'flag "bundle" takes a string, got no value'],
      [{ cpus: intValue(2n ** 60n) }, 'flag "cpus" is out of range: 1152921504606846976'],
    ];
    for (const [values, message] of cases) {
      let err: unknown;
      try {
        readFlags(flags, values);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DriverError);
      expect(err).toMatchObject({ code: Code.INVALID_ARGUMENT, message });
    }
  });
});

describe("jsonConfig", () => {
  interface Config {
    name: string;
  }
  const validate = (value: unknown): Config => {
    const name = (value as { name?: unknown }).name;
    if (typeof name !== "string") throw invalidArgument('config field "name" must be a string');
    return { name };
  };

  it("round-trips a config between the host's and the driver's codecs", () => {
    const bytes = hostJsonConfig().encode({ name: "m1", cpus: 2 });
    expect(bytes.toString("utf8")).toBe('{"name":"m1","cpus":2}');
    expect(jsonConfig(validate).decode(bytes)).toEqual({ name: "m1" });
    expect(hostJsonConfig().decode(jsonConfig(validate).encode({ name: "m2" }))).toEqual({ name: "m2" });
  });

  it("refuses bad bytes INVALID_ARGUMENT in a driver, saying what was wrong", () => {
    const codec = jsonConfig();
    const cases: Array<[Uint8Array, RegExp]> = [
      [Buffer.alloc(0), /^config is empty/],
      [Buffer.from("{"), /^config is not valid JSON/],
      [Buffer.from([0xff, 0xfe]), /^config is not valid JSON \(UTF-8 text\)/],
      [Buffer.from("[1]"), /^config must be a JSON object, got a list$/],
    ];
    for (const [bytes, message] of cases) {
      expect(() => codec.decode(bytes)).toThrow(message);
      expect(() => codec.decode(bytes)).toThrow(DriverError);
    }
    // The validator's own error reaches the caller unchanged.
    expect(() => jsonConfig(validate).decode(Buffer.from("{}"))).toThrow('config field "name" must be a string');
  });

  it("refuses on the host with a plain Error, and says when a config cannot be JSON", () => {
    let err: unknown;
    try {
      hostJsonConfig().decode(Buffer.from("nope"));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(DriverError);
    expect(() => hostJsonConfig().encode({ big: 1n } as Record<string, unknown>)).toThrow(
      /config cannot be written as JSON/,
    );
  });
});

describe("intendedRpc", () => {
  const rpcs = Object.keys(DriverServiceService);
  it("finds the RPC a Go-style, snake-case, libmachine or misspelt name meant", () => {
    expect(intendedRpc("getIP", rpcs)).toBe("getIp");
    expect(intendedRpc("GetSSHInfo", rpcs)).toBe("getSshInfo");
    expect(intendedRpc("get_state", rpcs)).toBe("getState");
    expect(intendedRpc("getSSHHostname", rpcs)).toBe("getSshInfo");
    expect(intendedRpc("getConfigRaw", rpcs)).toBe("getConfig");
    expect(intendedRpc("preCreateChek", rpcs)).toBe("preCreateCheck");
  });
  it("leaves helpers far from every RPC alone, and short words", () => {
    for (const name of ["requireConfig", "runSteps", "delay", "rest", "step", "fill", "board"]) {
      expect(intendedRpc(name, rpcs)).toBeUndefined();
    }
  });
});

describe("serve()'s options", () => {
  it("tells a caller still using an old option name what it is called now, before starting anything", async () => {
    const base = { name: "x", version: "1", driver: {} as Driver };
    await expect(serve({ ...base, log: undefined } as never)).rejects.toThrow(
      'serve(): the option "log" is now called "logger"',
    );
    await expect(serve({ ...base, protocolVersions: [1] } as never)).rejects.toThrow(
      'serve(): the option "protocolVersions" is now called "versions"',
    );
  });
});
