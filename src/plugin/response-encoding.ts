// Turns what a handler answered into the bytes grpc-js sends, in the adapter
// rather than inside grpc-js: a partial message gets its defaults filled in
// (the message type's fromPartial), and a response that cannot be serialized
// becomes an INTERNAL status naming the method, the field and its value, and
// is logged, instead of grpc-js's bare "Error serializing response".
// The server is given pass-through serializers for the adapted services.
import type { MethodDefinitionShape, ServiceDefinitionShape } from "../protocol/service-types.js";
import { internal, type DriverError } from "./driver-error.js";
import type { Logger } from "./logger.js";

/** What ts-proto generates for each message, as far as encoding needs it. */
export interface MessageType {
  fromPartial(object: never): unknown;
  encode(message: never): { finish(): Uint8Array };
}

export type ResponseEncoder = (response: unknown) => Buffer;

function isMessageType(value: unknown): value is MessageType {
  const v = value as Partial<MessageType> | undefined;
  return typeof v?.fromPartial === "function" && typeof v.encode === "function";
}

/** ts-proto's generic service definition (outputServices=generic-definitions), as far as encoding needs it. */
export interface GenericServiceDefinition {
  readonly methods: Readonly<Record<string, { readonly name: string; readonly responseType: unknown }>>;
}

/**
 * The response message type of each method of `definition` (grpc-js's), read
 * from the generic definition of the same service, whose methods carry their
 * message types; so no per-RPC table and no naming convention.
 */
export function responseTypesOf(
  definition: ServiceDefinitionShape,
  generic: GenericServiceDefinition,
): Map<string, MessageType> {
  // Matched by the RPC's name in the .proto ("GetIP"): the two generators
  // spell the property differently (getIP here, getIp in grpc-js's).
  const byRpc = new Map(Object.values(generic.methods).map((m) => [m.name, m.responseType]));
  const types = new Map<string, MessageType>();
  for (const [name, method] of Object.entries(definition)) {
    const type = byRpc.get(method.path.slice(method.path.lastIndexOf("/") + 1));
    // Both definitions come from one descriptor in one `make generate`.
    if (!isMessageType(type))
      throw new Error(`${method.path}: the generic definition has no response type for ${name}; generated/ is stale`);
    types.set(name, type);
  }
  return types;
}

/** The definition grpc-js registers: responses arrive already encoded. */
export function preEncoded<S extends ServiceDefinitionShape>(definition: S): S {
  const out: Record<string, MethodDefinitionShape> = {};
  for (const [name, method] of Object.entries(definition)) {
    out[name] = { ...method, responseSerialize: (bytes: Buffer) => bytes };
  }
  return out as S;
}

/**
 * The encoder of one method's responses: fills in defaults when the message
 * type is known, else expects whole messages. Throws an INTERNAL DriverError.
 */
export function responseEncoder(
  method: MethodDefinitionShape,
  type: MessageType | undefined,
  log: Logger,
): ResponseEncoder {
  const encode = type
    ? (response: unknown) => asBuffer(type.encode(type.fromPartial(response as never) as never).finish())
    : (response: unknown) => method.responseSerialize(response);
  return (response) => {
    try {
      return encode(response);
    } catch (err) {
      throw unserializable(method.path, response, type, err, log);
    }
  };
}

/** The encoder's bytes as a Buffer over the same memory (Buffer.from(bytes) would copy a 1 MiB answer once more). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function unserializable(
  path: string,
  response: unknown,
  type: MessageType | undefined,
  err: unknown,
  log: Logger,
): DriverError {
  const why = err instanceof Error ? err.message : String(err);
  const found = type ? culprit(type, response) : undefined;
  const field = found?.path ?? "";
  const value = found ? describeValue(found.path, found.value) : describeValue("", response);
  const what = field === "" ? `the response ${value}` : `field "${field}" = ${value}`;
  log.error("a driver method's response cannot be serialized", { method: path, field, value, error: why });
  return internal(`${path}: the driver's response cannot be serialized: ${what}: ${why}`, { cause: err });
}

type Segment = string | number;

/** A message holding only the value at `path`, e.g. { sharedDirs: [{ port: v }] }. */
function only(path: readonly Segment[], value: unknown): unknown {
  let out = value;
  for (let i = path.length - 1; i >= 0; i--) {
    const segment = path[i]!;
    out = typeof segment === "number" ? [out] : { [segment]: out };
  }
  return out;
}

/**
 * The deepest field that fails to serialize on its own, found by encoding
 * messages that hold one field at a time (only on the failure path).
 */
function culprit(type: MessageType, response: unknown): { path: string; value: unknown } | undefined {
  const fails = (message: unknown) => {
    try {
      type.encode(type.fromPartial(message as never) as never);
      return false;
    } catch {
      return true;
    }
  };
  if (typeof response !== "object" || response === null) return undefined;
  const path: Segment[] = [];
  let node: unknown = response;
  for (;;) {
    if (typeof node !== "object" || node === null || node instanceof Uint8Array) break;
    const record = node as Record<string, unknown>;
    const children: Array<[Segment, unknown]> = Array.isArray(node)
      ? node.map((v, i): [Segment, unknown] => [i, v])
      : Object.keys(record).map((k): [Segment, unknown] => [k, record[k]]);
    // A oneof's value is only read next to its $case.
    const withCase = (key: Segment, v: unknown) =>
      !Array.isArray(node) && "$case" in record && key === "value" ? { $case: record.$case, value: v } : v;
    const next = children.find(([key, v]) => fails(only([...path, key], withCase(key, v))));
    if (!next) break;
    path.push(next[0]);
    node = next[1];
  }
  if (path.length === 0) return undefined;
  const text = path.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? s : `.${s}`)).join("");
  return { path: text, value: node };
}

const SECRET_FIELD = /password|secret|token|key$/i;

/** A short, safe rendering of a value for the message and the log. */
function describeValue(field: string, value: unknown): string {
  const kind = value === null ? "null" : Array.isArray(value) ? "list" : typeof value;
  if (SECRET_FIELD.test(field)) return `[redacted] (${kind})`;
  let text: string;
  try {
    text =
      JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)) ??
      String(value as string | undefined);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return `${text.length > 80 ? `${text.slice(0, 80)}...` : text} (${kind})`;
}
