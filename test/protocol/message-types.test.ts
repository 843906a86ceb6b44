// The host's driver service encodes each request straight into the Buffer
// grpc-js sends: the same bytes as the generated serializer, for every method.
import { describe, expect, it } from "vitest";
import { DriverServiceDefinition, DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { hostDriverService } from "../../src/host/driver-service.js";
import { messageTypesOf } from "../../src/protocol/message-types.js";

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
