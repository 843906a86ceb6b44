// gRPC server reflection (v1 and v1alpha) for the services a plugin serves.
// @grpc/reflection needs a proto-loader package definition, and parsing the
// protos costs about a quarter of a second, so the plugin registers stand-in
// definitions at start and builds the real service only when the first
// reflection call arrives (grpc-js calls (de)serializers synchronously, so
// the load is synchronous too).
//
// @grpc/reflection answers each request with a write and never waits for
// 'drain': a client that sends requests without reading the answers would
// grow the plugin without bound. The call is given to it with backpressure:
// while a write is not drained, no further request is read, so HTTP/2 flow
// control stops the client.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { findPackageRoot } from "../fs/package-root.js";
import type {
  Server,
  ServerDuplexStream,
  ServiceDefinition,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";

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
      [METHOD]: ((call: ServerDuplexStream<unknown, unknown>) =>
        (get(path).handler as (call: unknown) => void)(withBackpressure(call))) as UntypedHandleCall,
    };
    server.addService(definition, implementation);
  }
}

/** The call, whose write() pauses reading until the answer written is drained. */
function withBackpressure(call: ServerDuplexStream<unknown, unknown>): ServerDuplexStream<unknown, unknown> {
  const write = call.write.bind(call) as (chunk: unknown) => boolean;
  let waiting = false;
  call.write = ((chunk: unknown) => {
    const drained = write(chunk);
    if (!drained && !waiting) {
      waiting = true;
      call.pause();
      call.once("drain", () => {
        waiting = false;
        call.resume();
      });
    }
    return drained;
  }) as typeof call.write;
  return call;
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
