// nice-grpc's client on the same channel target, as a host built on it would
// call: with its deadline middleware (the host's calls all carry a default
// deadline) and without. Measured beside the host's typed client and bare
// grpc-js to decide whether the host side should be built on nice-grpc.
import { Channel, ChannelCredentials, createClientFactory } from "nice-grpc";
import { deadlineMiddleware } from "nice-grpc-client-middleware-deadline";
import { DriverServiceService } from "../generated/driverplug/driver/v1/driver.js";
import type { BenchClient } from "./bench-client.js";

/** `deadlineMs`: every GetState carries that deadline through nice-grpc's deadline middleware. */
export function connectNiceGrpc(address: string, deadlineMs?: number): Pick<BenchClient, "getState" | "close"> {
  // A grpc-js channel as the typed client's: nice-grpc's createChannel reads "unix:/x" as host:port.
  const channel = new Channel(address, ChannelCredentials.createInsecure(), {});
  const client =
    deadlineMs === undefined
      ? createClientFactory().create(DriverServiceService, channel)
      : createClientFactory().use(deadlineMiddleware).create(DriverServiceService, channel);
  return {
    getState: () =>
      deadlineMs === undefined
        ? client.getState({})
        : client.getState({}, { deadline: new Date(Date.now() + deadlineMs) } as never),
    close: () => channel.close(),
  };
}
