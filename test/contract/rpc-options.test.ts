// Every DriverService RPC states its rules in the .proto: the
// (driverplug.driver.v1.rpc) option and idempotency_level. These tests list
// every RPC with its options, read them back from a descriptor set buf builds
// from proto/ (as a Go or Python author's tools would), check the generated
// table agrees, and show that an RPC without the option is refused.
import { createFileRegistry, fromBinary, getOption, hasOption } from "@bufbuild/protobuf";
import type { GenExtension } from "@bufbuild/protobuf/codegenv2";
import { FileDescriptorSetSchema, MethodOptions_IdempotencyLevel, type MethodOptions } from "@bufbuild/protobuf/wkt";
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, expectTypeOf, it } from "vitest";
import { Capability, DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import {
  DRIVER_RPCS,
  driverRpc,
  findDriverRpc,
  type DriverRpc,
  type RequiredMethodName,
} from "../../src/protocol/rpc-options.js";
import { driverCallDefaults, LIFECYCLE_TIMEOUT_MS, QUERY_TIMEOUT_MS } from "../../src/host/call-options.js";
import { impliedCapabilities, type Driver } from "../../src/plugin/driver.js";
import { GRPCStdioService } from "../../generated/plugin/grpc_stdio.js";
import { protoRoot } from "./proto-files.js";

const run = promisify(execFile);
const BUF = new URL("../../node_modules/.bin/buf", import.meta.url).pathname;
const SERVICE = "driverplug.driver.v1.DriverService";
const EXTENSION = "driverplug.driver.v1.rpc";

/** What a descriptor says about one RPC, in the table's terms. */
interface Classified {
  name: string;
  classified: boolean;
  idempotency: string;
  mutating: boolean;
  preempts: boolean;
  longRunning: boolean;
  openEnded: boolean;
  required: boolean;
  capability: number;
}

type RpcOptionFields = Omit<Classified, "name" | "classified" | "idempotency">;

/** Builds the descriptor set of `root` with buf and reads each DriverService RPC's options from it. */
async function readDescriptor(root: string): Promise<Classified[]> {
  const dir = await fs.mkdtemp(join(tmpdir(), "dp-rpc-options-"));
  try {
    const out = join(dir, "set.binpb");
    await run(BUF, ["build", root, "-o", out]);
    const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, await fs.readFile(out)));
    const service = registry.getService(SERVICE);
    // The test knows the option's fields; a generated schema would only repeat them.
    const ext = registry.getExtension(EXTENSION) as GenExtension<MethodOptions, RpcOptionFields> | undefined;
    if (!service || !ext) throw new Error(`the descriptor set lacks ${SERVICE} or ${EXTENSION}`);
    return service.methods.map((method) => {
      const o = getOption(method, ext);
      return {
        name: method.name,
        classified: hasOption(method, ext),
        idempotency: MethodOptions_IdempotencyLevel[method.idempotency]!,
        mutating: o.mutating,
        preempts: o.preempts,
        longRunning: o.longRunning,
        openEnded: o.openEnded,
        required: o.required,
        capability: o.capability,
      };
    });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** One line per RPC: the options that are set, for a readable table. */
function summary(
  rpc: Pick<DriverRpc, "idempotency" | "mutating" | "preempts" | "longRunning" | "openEnded" | "required"> & {
    name: string;
    capability: number | undefined;
  },
): string {
  const flags = (["mutating", "preempts", "longRunning", "openEnded", "required"] as const).filter((f) => rpc[f]);
  const cap = rpc.capability ? [Capability[rpc.capability]!] : [];
  return [rpc.name, rpc.idempotency, ...flags, ...cap].join(" ");
}

describe("DriverService RPC options", () => {
  it("every RPC has its options, as listed here", () => {
    expect(DRIVER_RPCS.map(summary)).toEqual([
      "GetInfo NO_SIDE_EFFECTS",
      "Probe NO_SIDE_EFFECTS",
      "GetCreateFlags NO_SIDE_EFFECTS",
      "SetConfigFromFlags IDEMPOTENT mutating",
      "GetConfig NO_SIDE_EFFECTS required",
      "SetConfig IDEMPOTENT mutating required",
      "UpdateConfig IDEMPOTENT mutating longRunning CAPABILITY_UPDATE_CONFIG",
      "PreCreateCheck NO_SIDE_EFFECTS longRunning",
      "Create IDEMPOTENCY_UNKNOWN mutating longRunning required",
      "Start IDEMPOTENT mutating longRunning required",
      "Stop IDEMPOTENT mutating longRunning required",
      "Restart IDEMPOTENCY_UNKNOWN mutating longRunning CAPABILITY_RESTART",
      "Kill IDEMPOTENT mutating preempts longRunning required",
      "Remove IDEMPOTENT mutating longRunning required",
      "GetState NO_SIDE_EFFECTS required",
      "WatchState NO_SIDE_EFFECTS openEnded CAPABILITY_WATCH_STATE",
      "GetMachineName NO_SIDE_EFFECTS",
      "GetIP NO_SIDE_EFFECTS",
      "GetURL NO_SIDE_EFFECTS CAPABILITY_URL",
      "GetSSHInfo NO_SIDE_EFFECTS CAPABILITY_SSH",
      "GetBundleName NO_SIDE_EFFECTS CAPABILITY_BUNDLE",
      "GetSharedDirs NO_SIDE_EFFECTS CAPABILITY_SHARED_DIRS",
      "GetMachineStates IDEMPOTENT CAPABILITY_MACHINE_STATES",
    ]);
  });

  it("covers every method of the generated service definition, found by handler name, RPC name and path", () => {
    const methods = Object.keys(DriverServiceService).sort();
    expect(DRIVER_RPCS.map((r) => r.method).sort()).toEqual(methods);
    for (const rpc of DRIVER_RPCS) {
      expect(driverRpc(rpc.method)).toBe(rpc);
      expect(findDriverRpc(rpc.name)).toBe(rpc);
      expect(findDriverRpc(DriverServiceService[rpc.method].path)).toBe(rpc);
      expect(rpc.responseStream).toBe(DriverServiceService[rpc.method].responseStream);
    }
    expect(driverRpc("getSshInfo").name).toBe("GetSSHInfo");
    expect(findDriverRpc("/plugin.GRPCController/Shutdown")).toBeUndefined();
  });

  it("the proto's descriptor set classifies every RPC, as the generated table says", async () => {
    const fromDescriptor = await readDescriptor(protoRoot);
    expect(fromDescriptor.filter((r) => !r.classified).map((r) => r.name)).toEqual([]);
    expect(
      fromDescriptor.map((r) =>
        summary({
          ...r,
          idempotency: r.idempotency as DriverRpc["idempotency"],
          capability: r.capability || undefined,
        }),
      ),
    ).toEqual(DRIVER_RPCS.map(summary));
  });

  it("an RPC without the option is found unclassified", async () => {
    const copy = await fs.mkdtemp(join(tmpdir(), "dp-rpc-proto-"));
    try {
      await fs.cp(protoRoot, copy, { recursive: true });
      const file = join(copy, "driverplug/driver/v1/driver.proto");
      const text = await fs.readFile(file, "utf8");
      const stripped = text.replace(
        /(rpc GetIP\([^)]*\) returns \([^)]*\) \{\n)\s*option \(rpc\) = \{[^}]*\};\n/,
        "$1",
      );
      expect(stripped).not.toBe(text);
      await fs.writeFile(file, stripped);
      const rows = await readDescriptor(copy);
      expect(rows.filter((r) => !r.classified).map((r) => r.name)).toEqual(["GetIP"]);
    } finally {
      await fs.rm(copy, { recursive: true, force: true });
    }
  });

  it("only mutating RPCs pre-empt, and only optional ones imply a capability", () => {
    for (const rpc of DRIVER_RPCS) {
      if (rpc.preempts) expect(rpc.mutating, rpc.name).toBe(true);
      if (rpc.capability !== undefined) expect(rpc.required, rpc.name).toBe(false);
      expect(rpc.longRunning && rpc.openEnded, rpc.name).toBe(false);
      if (rpc.idempotency === "NO_SIDE_EFFECTS") expect(rpc.mutating, rpc.name).toBe(false);
    }
  });

  it("a Driver's required methods are the RPCs marked required", () => {
    expectTypeOf<RequiredMethodName>().toEqualTypeOf<
      "getConfig" | "setConfig" | "create" | "start" | "stop" | "kill" | "remove" | "getState"
    >();
    expect(
      DRIVER_RPCS.filter((r) => r.required)
        .map((r) => r.method)
        .sort(),
    ).toEqual(["create", "getConfig", "getState", "kill", "remove", "setConfig", "start", "stop"]);
  });

  it("the host's default deadline follows long_running and open_ended", () => {
    const timeout = (m: keyof typeof DriverServiceService) => driverCallDefaults.timeoutMs(m, DriverServiceService[m]);
    for (const rpc of DRIVER_RPCS) {
      const expected = rpc.openEnded ? undefined : rpc.longRunning ? LIFECYCLE_TIMEOUT_MS : QUERY_TIMEOUT_MS;
      expect(timeout(rpc.method), rpc.name).toBe(expected);
    }
    expect(timeout("watchState")).toBeUndefined();
    expect(timeout("create")).toBe(LIFECYCLE_TIMEOUT_MS);
    expect(timeout("getIp")).toBe(QUERY_TIMEOUT_MS);
    // A stream of another service (go-plugin's stdio) keeps no default deadline.
    expect(driverCallDefaults.timeoutMs("streamStdio", GRPCStdioService.streamStdio)).toBeUndefined();
  });

  it("GetInfo's default capabilities are those of the optional RPCs a driver implements", () => {
    const core = async () => ({}) as never;
    const driver = {
      getConfig: core,
      setConfig: core,
      create: core,
      start: core,
      stop: core,
      kill: core,
      remove: core,
      getState: core,
      getSshInfo: core,
      restart: core,
    } as unknown as Driver;
    expect(impliedCapabilities(driver).sort()).toEqual(
      [Capability.CAPABILITY_RESTART, Capability.CAPABILITY_SSH].sort(),
    );
  });

  it("docs/protocol.md's table of RPC rules says what the proto says", async () => {
    const doc = await fs.readFile(new URL("../../docs/protocol.md", import.meta.url), "utf8");
    const rows = doc
      .split("\n")
      .filter((line) => /^\| `[A-Z]\w+` \| [A-Z_]+ \|/.test(line))
      .map((line) => line.trim());
    const yes = (b: boolean) => (b ? "yes" : "");
    const expected = DRIVER_RPCS.map((r) =>
      [
        `\`${r.name}\``,
        r.idempotency,
        yes(r.mutating),
        yes(r.preempts),
        r.openEnded ? "none" : r.longRunning ? "lifecycle" : "query",
        yes(r.required),
        r.capability ? `\`${Capability[r.capability]}\`` : "",
      ]
        .map((cell) => ` ${cell} `)
        .join("|"),
    ).map((inner) => `|${inner}|`);
    expect(rows.map((r) => r.replace(/\s+/g, " "))).toEqual(expected.map((r) => r.replace(/\s+/g, " ")));
  });
});
