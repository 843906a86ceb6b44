// The generated grpc-js service definitions and the ones @grpc/proto-loader
// builds from the same .proto files must agree, so the stubs cannot drift
// from the contract.
import * as protoLoader from "@grpc/proto-loader";
import { describe, expect, it } from "vitest";
import { generatedModules, protoFiles, protoRoot } from "./proto-files.js";

interface MethodShape {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
}

function isMethod(v: unknown): v is MethodShape {
  return typeof v === "object" && v !== null && typeof (v as MethodShape).path === "string";
}

function shapes(service: Record<string, unknown>): MethodShape[] {
  return Object.values(service)
    .filter(isMethod)
    .map(({ path, requestStream, responseStream }) => ({ path, requestStream, responseStream }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

const loaded = protoLoader.loadSync(protoFiles, { includeDirs: [protoRoot] });
const loadedServices = Object.entries(loaded).filter(([, def]) => !("format" in def));

describe("generated service definitions", () => {
  it("cover every service of the .proto files", async () => {
    const generated: string[] = [];
    for (const { pkg, mod } of await generatedModules()) {
      for (const [name, value] of Object.entries(mod)) {
        if (
          name.endsWith("Service") &&
          typeof value === "object" &&
          value !== null &&
          Object.values(value).some(isMethod)
        ) {
          generated.push(`${pkg}.${name.replace(/Service$/, "")}`);
        }
      }
    }
    const expected = loadedServices.map(([name]) => name);
    expect(generated.sort()).toEqual(expected.sort());
  });

  for (const [name, def] of loadedServices) {
    it(`${name} has the same methods, paths and streaming kinds`, async () => {
      const short = name.split(".").pop()!;
      const pkg = name.slice(0, name.length - short.length - 1);
      const candidates = (await generatedModules()).filter((m) => m.pkg === pkg);
      // ts-proto names a service's definition <Service>Service.
      const exportName = `${short}Service`;
      const generated = candidates.map((m) => m.mod[exportName]).find((v) => v !== undefined);
      expect(generated, `generated export ${exportName}`).toBeDefined();
      expect(shapes(generated as Record<string, unknown>)).toEqual(shapes(def as Record<string, unknown>));
    });
  }

  it("DriverService has every RPC of the design's table", () => {
    const driver = loaded["driverplug.driver.v1.DriverService"] as Record<string, MethodShape>;
    const names = Object.values(driver)
      .map((m) => m.path.split("/").pop())
      .sort();
    expect(names).toEqual(
      [
        "GetInfo",
        "Probe",
        "GetCreateFlags",
        "SetConfigFromFlags",
        "GetConfig",
        "SetConfig",
        "UpdateConfig",
        "PreCreateCheck",
        "Create",
        "Start",
        "Stop",
        "Restart",
        "Kill",
        "Remove",
        "GetState",
        "WatchState",
        "GetMachineName",
        "GetIP",
        "GetURL",
        "GetSSHInfo",
        "GetBundleName",
        "GetSharedDirs",
        "GetMachineStates",
      ].sort(),
    );
    const streaming = Object.values(driver)
      .filter((m) => m.responseStream)
      .map((m) => m.path.split("/").pop());
    expect(streaming.sort()).toEqual(["Create", "Start", "WatchState"]);
  });

  it("go-plugin's services keep go-plugin's exact paths", () => {
    const paths = (svc: string) => Object.values(loaded[svc] as Record<string, MethodShape>).map((m) => m.path);
    expect(paths("plugin.GRPCController")).toEqual(["/plugin.GRPCController/Shutdown"]);
    expect(paths("plugin.GRPCStdio")).toEqual(["/plugin.GRPCStdio/StreamStdio"]);
    expect(paths("plugin.GRPCBroker")).toEqual(["/plugin.GRPCBroker/StartStream"]);
    expect(paths("grpc.health.v1.Health").sort()).toEqual([
      "/grpc.health.v1.Health/Check",
      "/grpc.health.v1.Health/Watch",
    ]);
  });
});
