// The bench-only EchoService (bench/proto/echo.proto), loaded with
// proto-loader at run time, and its one handler.
import {
  loadPackageDefinition,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";

/** Runs from dist/bench, so the proto is two levels up in the source tree. */
const PROTO = fileURLToPath(new URL("../../bench/proto/echo.proto", import.meta.url));

export interface EchoMessage {
  payload: Buffer;
}

type EchoClientConstructor = (new (
  address: string,
  credentials: ChannelCredentials,
  options?: ChannelOptions,
) => Client) & {
  service: ServiceDefinition;
};

function load(): EchoClientConstructor {
  const definition = loadSync(PROTO, { longs: Number, defaults: true });
  const pkg = loadPackageDefinition(definition) as unknown as {
    driverplug: { bench: { v1: { EchoService: EchoClientConstructor } } };
  };
  return pkg.driverplug.bench.v1.EchoService;
}

export const EchoServiceClient: EchoClientConstructor = load();
export const echoServiceDefinition: ServiceDefinition = EchoServiceClient.service;

export const echoHandlers: UntypedServiceImplementation = {
  Echo(call: ServerUnaryCall<EchoMessage, EchoMessage>, callback: sendUnaryData<EchoMessage>) {
    callback(null, { payload: call.request.payload });
  },
};
