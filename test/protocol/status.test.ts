// driverplug's Code enum is gRPC's numbering (pinned to grpc-js's), and
// ClientError.from turns anything thrown into a ClientError with a code.
import { Metadata, status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { ClientError, Code } from "../../src/host/index.js";
import { statusName } from "../../src/protocol/status.js";

describe("Code", () => {
  it("has every grpc-js status under the same name and number", () => {
    const grpc = Object.entries(status).filter((e): e is [string, number] => typeof e[1] === "number");
    const ours = Object.entries(Code).filter((e): e is [string, number] => typeof e[1] === "number");
    expect(ours).toEqual(grpc);
    expect(statusName(Code.NOT_FOUND)).toBe("NOT_FOUND");
    expect(statusName(99)).toBe("code 99");
  });
});

describe("ClientError.from", () => {
  it("keeps a ClientError as it is", () => {
    const err = new ClientError("/p/M", Code.NOT_FOUND, "gone");
    expect(ClientError.from(err)).toBe(err);
    expect(err.message).toBe("/p/M NOT_FOUND: gone");
    expect(err.reason).toBe("call");
  });

  it("reads a gRPC status error's code, details and metadata", () => {
    const metadata = new Metadata();
    metadata.set("k", "v");
    const grpcError = Object.assign(new Error("5 NOT_FOUND: gone"), { code: 5, details: "gone", metadata });
    const err = ClientError.from(grpcError, "/p/GetIP");
    expect(err).toMatchObject({ path: "/p/GetIP", code: Code.NOT_FOUND, details: "gone", reason: "call" });
    expect(err.metadata.get("k")).toEqual(["v"]);
    expect(err.cause).toBe(grpcError);
  });

  it("maps aborts to CANCELLED, timeouts to DEADLINE_EXCEEDED and anything else to UNKNOWN", () => {
    const aborted = AbortSignal.abort().reason as unknown;
    expect(ClientError.from(aborted).code).toBe(Code.CANCELLED);
    expect(ClientError.from(new DOMException("late", "TimeoutError")).code).toBe(Code.DEADLINE_EXCEEDED);
    expect(ClientError.from(new TypeError("x is undefined"))).toMatchObject({
      code: Code.UNKNOWN,
      message: "x is undefined",
    });
    expect(ClientError.from("a string")).toMatchObject({ code: Code.UNKNOWN, details: "a string" });
    expect(ClientError.from({ code: 99, message: "odd" }).code).toBe(Code.UNKNOWN);
  });
});
