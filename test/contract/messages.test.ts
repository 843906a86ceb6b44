// Every message of the contract round-trips through the generated code, and
// the bytes agree with an independent implementation (protobufjs) reading the
// same .proto files.
import { createRequire } from "node:module";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { generatedModules, protoFiles, protoRoot } from "./proto-files.js";

interface Codec {
  encode(message: unknown): { finish(): Uint8Array };
  decode(input: Uint8Array): unknown;
  toJSON(message: unknown): unknown;
  fromJSON(object: unknown): unknown;
}

const root = new protobuf.Root();
// protobufjs ships google/protobuf/*.proto as common types, and descriptor.proto
// (which the RPC options extend) as a file of its own.
const descriptorProto = createRequire(import.meta.url).resolve("protobufjs/google/protobuf/descriptor.proto");
root.resolvePath = (_origin, target) =>
  target === "google/protobuf/descriptor.proto"
    ? descriptorProto
    : target.startsWith("google/protobuf/")
      ? target
      : `${protoRoot}/${target}`;
root.loadSync(protoFiles, { keepCase: false });
root.resolveAll();

function allTypes(ns: protobuf.NamespaceBase): protobuf.Type[] {
  const out: protobuf.Type[] = [];
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) out.push(nested);
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) out.push(...allTypes(nested));
  }
  return out;
}

/** A value for every field (the first member of each oneof), none at its default. */
function sample(type: protobuf.Type, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const skipped = new Set<string>();
  for (const oneof of type.oneofsArray) oneof.fieldsArray.slice(1).forEach((f) => skipped.add(f.name));
  for (const field of type.fieldsArray) {
    if (skipped.has(field.name)) continue;
    const one = scalar(field, depth);
    if (one === undefined) continue;
    if (field.map) out[field.name] = { k1: one, k2: one };
    else out[field.name] = field.repeated ? [one, one] : one;
  }
  return out;
}

function scalar(field: protobuf.Field, depth: number): unknown {
  field.resolve();
  if (field.resolvedType instanceof protobuf.Type) return depth < 3 ? sample(field.resolvedType, depth + 1) : undefined;
  if (field.resolvedType instanceof protobuf.Enum) return Math.max(...Object.values(field.resolvedType.values));
  switch (field.type) {
    case "string":
      return `s-${field.name}-é`;
    case "bytes":
      return Buffer.from([0, 1, 2, 255]);
    case "bool":
      return true;
    case "int64":
    case "sint64":
    case "sfixed64":
      return -(2 ** 40) - 3;
    case "uint64":
    case "fixed64":
      return 2 ** 40 + 3;
    case "int32":
    case "sint32":
    case "sfixed32":
      return -7;
    case "double":
    case "float":
      return 1.5;
    default:
      return 7;
  }
}

const types = allTypes(root).filter((t) => !t.fullName.startsWith(".google.protobuf.") || t.name === "Empty");

describe("every message round-trips", async () => {
  const modules = await generatedModules();
  const codecFor = (type: protobuf.Type): Codec | undefined => {
    const pkgName = type.fullName.slice(1).split(".");
    // Nested types are generated as Parent_Child.
    for (let i = pkgName.length - 1; i > 0; i--) {
      const pkg = pkgName.slice(0, i).join(".");
      const name = pkgName.slice(i).join("_");
      for (const m of modules) if (m.pkg === pkg && m.mod[name]) return m.mod[name] as Codec;
    }
    return undefined;
  };

  it("covers every message type of the .proto files", () => {
    expect(types.length).toBeGreaterThan(50);
    const missing = types.filter((t) => codecFor(t) === undefined).map((t) => t.fullName);
    expect(missing).toEqual([]);
  });

  for (const type of types) {
    it(type.fullName.slice(1), () => {
      const codec = codecFor(type)!;
      const original = type.fromObject(sample(type));
      const wire = type.encode(original).finish();
      const decoded = codec.decode(wire);
      const rewire = codec.encode(decoded).finish();
      const back = type.toObject(type.decode(rewire), { longs: Number, bytes: Array, defaults: false });
      expect(back).toEqual(type.toObject(original, { longs: Number, bytes: Array, defaults: false }));
      expect(codec.fromJSON(codec.toJSON(decoded))).toEqual(decoded);
    });
  }
});
