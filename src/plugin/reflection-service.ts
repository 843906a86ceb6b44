// gRPC server reflection (v1 and v1alpha) for the services a plugin serves.
// @grpc/reflection needs a proto-loader package definition, and parsing the
// protos costs about a quarter of a second, so the plugin registers stand-in
// definitions at start and builds the real service only when the first
// reflection call arrives (grpc-js calls (de)serializers synchronously, so
// the load is synchronous too).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { findPackageRoot } from "../fs/package-root.js";
import type { Server, ServiceDefinition, UntypedHandleCall, UntypedServiceImplementation } from "@grpc/grpc-js";

const PROTO_FILES = [
  "driverplug/driver/v1/driver.proto",
  "grpc/health/v1/health.proto",
  "plugin/grpc_controller.proto",
  "plugin/grpc_stdio.proto",
];

const VERSIONS = ["grpc.reflection.v1", "grpc.reflection.v1alpha"];
const METHOD = "ServerReflectionInfo";

interface LoadedMethod {
  definition: ServiceDefinition[string];
  handler: UntypedHandleCall;
}

export function addLazyReflection(server: Pick<Server, "addService">): void {
  let loaded: Map<string, LoadedMethod> | undefined;
  const get = (path: string): LoadedMethod => {
    loaded ??= loadReflection();
    const method = loaded.get(path);
    if (!method) throw new Error(`reflection method ${path} is missing from @grpc/reflection`);
    return method;
  };
  for (const pkg of VERSIONS) {
    const path = `/${pkg}.ServerReflection/${METHOD}`;
    const definition: ServiceDefinition = {
      [METHOD]: {
        path,
        requestStream: true,
        responseStream: true,
        requestSerialize: (value: unknown) => get(path).definition.requestSerialize(value),
        requestDeserialize: (bytes: Buffer) => get(path).definition.requestDeserialize(bytes),
        responseSerialize: (value: unknown) => get(path).definition.responseSerialize(value),
        responseDeserialize: (bytes: Buffer) => get(path).definition.responseDeserialize(bytes),
      },
    };
    const implementation: UntypedServiceImplementation = {
      [METHOD]: ((call: unknown) => (get(path).handler as (call: unknown) => void)(call)) as UntypedHandleCall,
    };
    server.addService(definition, implementation);
  }
}

function loadReflection(): Map<string, LoadedMethod> {
  const root = findPackageRoot();
  if (!existsSync(join(root, "proto", PROTO_FILES[0]!))) {
    throw new Error(
      `driverplug's proto/ directory is missing from ${root}; server reflection needs it (install the package whole)`,
    );
  }
  const require = createRequire(join(root, "package.json"));
  const protoLoader = require("@grpc/proto-loader") as typeof import("@grpc/proto-loader");
  const { ReflectionService } = require("@grpc/reflection") as typeof import("@grpc/reflection");
  const pkg = protoLoader.loadSync(PROTO_FILES, { includeDirs: [join(root, "proto")] });
  const methods = new Map<string, LoadedMethod>();
  new ReflectionService(pkg).addToServer({
    addService(definition: ServiceDefinition, implementation: UntypedServiceImplementation) {
      for (const [name, method] of Object.entries(definition)) {
        const handler = implementation[name];
        if (handler) methods.set(method.path, { definition: method, handler });
      }
    },
  });
  return methods;
}
