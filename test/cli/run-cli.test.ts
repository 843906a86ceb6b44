// How runCli finds the driver of a create before parsing, and how failures
// become the one line a user reads.
import { Metadata } from "@grpc/grpc-js";
import { Code } from "../../src/protocol/status.js";
import { describe, expect, it } from "vitest";
import { ClientError } from "../../src/host/client-error.js";
import { LaunchError } from "../../src/host/launch-error.js";
import { CliError } from "../../src/cli/cli-error.js";
import { describeFailure, failureText } from "../../src/cli/error-message.js";
import { createDriverArg, jsonArg, machineArg } from "../../src/cli/run-cli.js";

describe("createDriverArg", () => {
  it("finds --driver <name> and --driver=<name> of a create, wherever they stand", () => {
    expect(createDriverArg(["create", "--driver", "fake", "m1"])).toBe("fake");
    expect(createDriverArg(["create", "m1", "--cpus", "2", "--driver=fake"])).toBe("fake");
    expect(createDriverArg(["--lock-timeout", "5", "create", "--driver", "fake", "m1"])).toBe("fake");
  });
  it("ignores other commands, a missing driver and anything after --", () => {
    expect(createDriverArg(["start", "--driver", "fake"])).toBeUndefined();
    expect(createDriverArg(["create", "m1"])).toBeUndefined();
    expect(createDriverArg(["create", "--", "--driver", "fake"])).toBeUndefined();
    expect(createDriverArg([])).toBeUndefined();
  });
});

describe("describeFailure", () => {
  it("shows a driver's status as the method, the code name and the driver's own message", () => {
    const err = new ClientError(
      "/driverplug.driver.v1.DriverService/SetConfigFromFlags",
      Code.INVALID_ARGUMENT,
      'flag "cpus": too many',
      new Metadata(),
    );
    expect(describeFailure(err, false)).toEqual({
      message: 'SetConfigFromFlags failed (INVALID_ARGUMENT): flag "cpus": too many',
      // A bad value the user gave: a usage error.
      exitCode: 2,
      code: "INVALID_ARGUMENT",
    });
  });
  it("adds a hint where the code implies one: in its own field, after the message for people", () => {
    const err = new ClientError("/driverplug.driver.v1.DriverService/GetUrl", Code.UNIMPLEMENTED, "no URL");
    const failure = describeFailure(err, false);
    expect(failure).toMatchObject({
      message: "GetUrl failed (UNIMPLEMENTED): no URL",
      hint: "this driver does not support it",
    });
    expect(failureText(failure)).toBe("GetUrl failed (UNIMPLEMENTED): no URL (this driver does not support it)");
  });
  it("keeps a CliError's message and exit code", () => {
    expect(describeFailure(new CliError("bad name", 2), false)).toEqual({
      message: "bad name",
      exitCode: 2,
      code: "USAGE",
    });
  });
  it("points a missing plugin at driverplug's plugin dirs variable", () => {
    expect(failureText(describeFailure(new LaunchError("not-found", 'driver plugin "x" not found'), false))).toMatch(
      /\$DRIVERPLUG_PLUGIN_DIRS/,
    );
  });
  it("reports anything after Ctrl-C as interrupted, exit 130", () => {
    expect(describeFailure(new Error("CANCELLED"), true)).toEqual({
      message: expect.stringMatching(/^interrupted/),
      exitCode: 130,
      code: "INTERRUPTED",
    });
  });
  it("keeps the stack of an unexpected error out of the message", () => {
    const f = describeFailure(new TypeError("x is undefined"), false);
    expect(f.message).toBe("unexpected error: x is undefined (set DRIVERPLUG_DEBUG=1 for the stack; please report it)");
    expect(f.stack).toMatch(/TypeError: x is undefined\n\s+at /);
  });
});

describe("machineArg and jsonArg", () => {
  it("finds the machine of a machine command before parsing, past options", () => {
    expect(machineArg(["status", "m1"])).toBe("m1");
    expect(machineArg(["--lock-timeout", "5", "stop", "--json", "m2"])).toBe("m2");
    expect(machineArg(["start", "--timeout", "5", "m4"])).toBe("m4");
    expect(machineArg(["config", "set", "m3", "cpus", "4"])).toBe("m3");
    expect(machineArg(["ls"])).toBeUndefined();
    expect(machineArg(["create", "--driver", "fake", "m1"])).toBeUndefined();
    expect(machineArg(["status", "--", "m1"])).toBeUndefined();
  });
  it("sees --json only before --", () => {
    expect(jsonArg(["status", "m1", "--json"])).toBe(true);
    expect(jsonArg(["ssh", "m1", "--", "--json"])).toBe(false);
  });
});

describe("exit codes per class of failure", () => {
  const failing = (code: Code) => describeFailure(new ClientError("/x.Y/Z", code, "why"), false);
  it("maps the driver's status to the class a script can act on", () => {
    expect(failing(Code.NOT_FOUND)).toMatchObject({ exitCode: 3, code: "NOT_FOUND" });
    expect(failing(Code.FAILED_PRECONDITION)).toMatchObject({ exitCode: 4, code: "FAILED_PRECONDITION" });
    expect(failing(Code.ALREADY_EXISTS)).toMatchObject({ exitCode: 4, code: "ALREADY_EXISTS" });
    expect(failing(Code.INTERNAL)).toMatchObject({ exitCode: 5, code: "INTERNAL" });
    expect(failing(Code.UNIMPLEMENTED)).toMatchObject({ exitCode: 5, hint: "this driver does not support it" });
    expect(failing(Code.UNAVAILABLE)).toMatchObject({ exitCode: 6, code: "UNAVAILABLE" });
    expect(describeFailure(new LaunchError("not-found", "no plugin"), false)).toMatchObject({
      exitCode: 6,
      code: "UNAVAILABLE",
    });
  });
});
