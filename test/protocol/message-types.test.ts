// The host's driver service encodes each request straight into the Buffer
// grpc-js sends: the same bytes as the generated serializer, for every method.
import { describe, expect, it } from "vitest";
import { DriverServiceDefinition, DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { hostDriverService } from "../../src/host/driver-service.js";
import { GetConfigResponse, GetStateResponse, State } from "../../generated/driverplug/driver/v1/driver.js";
import { encodeMessage, lendMessage, messageTypesOf } from "../../src/protocol/message-types.js";

describe("the host's driver service", () => {
  it("encodes every method's request to the generated serializer's bytes, over the encoder's memory", () => {
    const requests = messageTypesOf(DriverServiceService, DriverServiceDefinition, "requestType");
    expect([...requests.keys()].sort()).toEqual(Object.keys(DriverServiceService).sort());
    for (const [name, type] of requests) {
      const method = name as keyof typeof DriverServiceService;
      // Every field filled in with its defaults; SetConfig with a config of 1 MiB.
      const request =
        method === "setConfig"
          ? { configJson: Buffer.alloc(1 << 20, 0x61) }
          : (type.fromPartial({} as never) as Record<string, unknown>);
      const direct = hostDriverService[method].requestSerialize(request as never);
      expect(Buffer.isBuffer(direct), name).toBe(true);
      expect(direct.equals(DriverServiceService[method].requestSerialize(request as never)), name).toBe(true);
    }
    // The rest of each definition is the generated one's.
    expect(hostDriverService.getState.path).toBe(DriverServiceService.getState.path);
    expect(hostDriverService.watchState.responseStream).toBe(true);
  });

  it("says generated/ is stale when the two definitions disagree", () => {
    const generic = { methods: { getInfo: { name: "GetInfo", requestType: {}, responseType: {} } } };
    expect(() => messageTypesOf(DriverServiceService, generic, "requestType")).toThrow(
      /\/driverplug\.driver\.v1\.DriverService\/\w+: the generic definition has no requestType for \w+; generated\/ is stale/,
    );
  });
});

describe("bytes lent from the kept writer", () => {
  const generated = (config: Buffer) => Buffer.from(GetConfigResponse.encode({ configJson: config }).finish());

  it("are the generated encoder's bytes, lent without a copy while nothing else encodes", () => {
    const config = Buffer.alloc(1 << 20, 0x62);
    const lent = lendMessage(GetConfigResponse, { configJson: config });
    // The writer's own state is readable: if a @bufbuild/protobuf release changes it, lending
    // silently becomes finish()'s copy again, and this says so.
    expect(lent.onLoan).toBe(true);
    const bytes = lent.take();
    expect(lent.onLoan).toBe(false);
    expect(bytes.equals(generated(config))).toBe(true);
  });

  it("keep what was encoded when the writer is reused before they are taken", () => {
    const first = Buffer.alloc(300_000, 0x31);
    const lent = lendMessage(GetConfigResponse, { configJson: first });
    // A stream's next message, and a host's request, encoded before grpc-js took the first.
    const second = lendMessage(GetConfigResponse, { configJson: Buffer.alloc(300_000, 0x32) });
    expect(lent.onLoan).toBe(false);
    const state = encodeMessage(GetStateResponse, { state: State.STATE_RUNNING });
    expect(second.onLoan).toBe(false);
    expect(lent.take().equals(generated(first))).toBe(true);
    expect(second.take().equals(generated(Buffer.alloc(300_000, 0x32)))).toBe(true);
    expect(state.equals(Buffer.from(GetStateResponse.encode({ state: State.STATE_RUNNING }).finish()))).toBe(true);
  });

  it("leave the writer usable after a message that cannot be encoded", () => {
    expect(() => lendMessage(GetStateResponse, { state: "running" as unknown as State })).toThrow();
    const lent = lendMessage(GetConfigResponse, { configJson: Buffer.from("{}") });
    expect(lent.take().equals(generated(Buffer.from("{}")))).toBe(true);
  });
});
