// The .proto files of the contract and the generated modules built from them,
// listed once for the contract tests.
import { fileURLToPath } from "node:url";

export const protoRoot = fileURLToPath(new URL("../../proto", import.meta.url));

export const protoFiles = [
  "driverplug/driver/v1/driver.proto",
  "plugin/grpc_controller.proto",
  "plugin/grpc_stdio.proto",
  "plugin/grpc_broker.proto",
  "grpc/health/v1/health.proto",
];

/** Each generated module, keyed by the proto package its messages live in. */
export async function generatedModules(): Promise<Array<{ pkg: string; mod: Record<string, unknown> }>> {
  return [
    { pkg: "driverplug.driver.v1", mod: await import("../../generated/driverplug/driver/v1/driver.js") },
    { pkg: "plugin", mod: await import("../../generated/plugin/grpc_controller.js") },
    { pkg: "plugin", mod: await import("../../generated/plugin/grpc_stdio.js") },
    { pkg: "plugin", mod: await import("../../generated/plugin/grpc_broker.js") },
    { pkg: "grpc.health.v1", mod: await import("../../generated/grpc/health/v1/health.js") },
    { pkg: "google.protobuf", mod: await import("../../generated/google/protobuf/empty.js") },
  ];
}
