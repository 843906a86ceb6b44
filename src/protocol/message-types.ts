// The message types behind a grpc-js service definition's methods, read from
// ts-proto's generic definition of the same service (whose methods carry
// their message types), and encoding into a Buffer without the copy that the
// generated serializers make (Buffer.from(Uint8Array) copies; a 1 MiB config
// is then copied once more on each side).
import type { MethodDefinitionShape, ServiceDefinitionShape } from "./service-types.js";

/** What ts-proto generates for each message, as far as encoding needs it. */
export interface MessageType {
  fromPartial(object: never): unknown;
  encode(message: never): { finish(): Uint8Array };
}

/** ts-proto's generic service definition (outputServices=generic-definitions), as far as encoding needs it. */
export interface GenericServiceDefinition {
  readonly methods: Readonly<
    Record<string, { readonly name: string; readonly requestType: unknown; readonly responseType: unknown }>
  >;
}

function isMessageType(value: unknown): value is MessageType {
  const v = value as Partial<MessageType> | undefined;
  return typeof v?.fromPartial === "function" && typeof v.encode === "function";
}

/**
 * The request or response message type of each method of `definition`
 * (grpc-js's), matched by the RPC's name in the .proto ("GetIP"): the two
 * generators spell the property differently (getIP there, getIp in grpc-js's).
 */
export function messageTypesOf(
  definition: ServiceDefinitionShape,
  generic: GenericServiceDefinition,
  side: "requestType" | "responseType",
): Map<string, MessageType> {
  const byRpc = new Map(Object.values(generic.methods).map((m) => [m.name, m[side]]));
  const types = new Map<string, MessageType>();
  for (const [name, method] of Object.entries(definition)) {
    const type = byRpc.get(method.path.slice(method.path.lastIndexOf("/") + 1));
    // Both definitions come from one descriptor in one `make generate`.
    if (!isMessageType(type))
      throw new Error(`${method.path}: the generic definition has no ${side} for ${name}; generated/ is stale`);
    types.set(name, type);
  }
  return types;
}

/** The encoder's bytes as a Buffer over the same memory. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** `definition` with each request encoded straight into a Buffer over the encoder's memory. */
export function withDirectRequestEncoding<S extends ServiceDefinitionShape>(
  definition: S,
  generic: GenericServiceDefinition,
): S {
  const types = messageTypesOf(definition, generic, "requestType");
  const out: Record<string, MethodDefinitionShape> = {};
  for (const [name, method] of Object.entries(definition)) {
    const type = types.get(name)!;
    out[name] = { ...method, requestSerialize: (request: unknown) => asBuffer(type.encode(request as never).finish()) };
  }
  return out as S;
}
