// The public entry points are curated: driverplug/plugin has everything a
// driver needs and nothing of the host; the host entry hides its plumbing;
// the root entry lists its names (nothing generated leaks, such as ts-proto's
// DeepPartial or the message encoders). Drivers in the repository import
// only driverplug/plugin.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as root from "../../src/index.js";
import * as host from "../../src/host/index.js";
import * as plugin from "../../src/plugin/index.js";
// @ts-expect-error ts-proto's helper types are not part of the API.
import type { DeepPartial } from "../../src/index.js";
// @ts-expect-error the typed client's plumbing is not public.
import type { CallTracker } from "../../src/host/index.js";

const REPO = join(import.meta.dirname, "..", "..");

describe("driverplug/plugin", () => {
  it("exports what a driver needs: serve, errors, enums, Code and the helpers", () => {
    for (const name of [
      "serve",
      "DriverError",
      "notFound",
      "invalidArgument",
      "failedPrecondition",
      "State",
      "FlagType",
      "Capability",
      "Code",
      "intFlag",
      "stringFlag",
      "stringListFlag",
      "boolFlag",
      "readFlags",
      "jsonConfig",
      "createLogger",
    ]) {
      expect(plugin, name).toHaveProperty(name);
    }
    expect(plugin.State.STATE_RUNNING).toBe(1);
    expect(plugin.Code.NOT_FOUND).toBe(5);
  });

  it("loads nothing of the host side", async () => {
    const dir = join(REPO, "src", "plugin");
    for (const file of await readdir(dir)) {
      const text = await readFile(join(dir, file), "utf8");
      expect(text, file).not.toMatch(/from "\.\.\/host\//);
    }
  });
});

describe("driverplug/host and the root entry", () => {
  it("keep the plumbing out: no typed-client factory, tracker, handle constructor or launch error class", () => {
    for (const name of ["createTypedClient", "untracked", "PluginHandle", "LaunchError", "toClientError"]) {
      expect(host, name).not.toHaveProperty(name);
      expect(root, name).not.toHaveProperty(name);
    }
    expect(host).toHaveProperty("ClientError");
    expect(host).toHaveProperty("Code");
  });

  it("root re-exports no generated encoders or helpers, only the enums and the service definition", () => {
    for (const name of ["GetInfoResponse", "FlagValue", "DriverServiceClient", "protobufPackage", "stateFromJSON"]) {
      expect(root, name).not.toHaveProperty(name);
    }
    expect(root.State).toBe(plugin.State);
    expect(root).toHaveProperty("DriverServiceService");
  });
});

describe("drivers in the repository", () => {
  it("import the framework only through driverplug/plugin", async () => {
    const files = [
      join(REPO, "examples", "minimal-driver.ts"),
      ...(await readdir(join(REPO, "src", "drivers", "fake"))).map((f) => join(REPO, "src", "drivers", "fake", f)),
      ...(await readdir(join(REPO, "src", "drivers", "qemu"))).map((f) => join(REPO, "src", "drivers", "qemu", f)),
      ...(await readdir(join(REPO, "src", "drivers", "libvirt"), { recursive: true }))
        .filter((f) => f.endsWith(".ts"))
        .map((f) => join(REPO, "src", "drivers", "libvirt", f)),
    ];
    for (const file of files) {
      const text = await readFile(file, "utf8");
      for (const [, from] of text.matchAll(/from "([^"]+)"/g)) {
        if (from!.startsWith("node:") || from!.startsWith("./")) continue;
        // The framework's API only through its entry; never the host side, the root entry or generated code.
        if (/\/(plugin|host|generated|protocol)\/|\/index\.js$/.test(from!)) {
          expect(from, file).toMatch(/(^|\/)plugin\/index\.js$/);
        }
      }
    }
  });
});

export type Unused = DeepPartial<unknown> | CallTracker;
