// Turns what a handler answered into the bytes grpc-js sends, in the adapter
// rather than inside grpc-js: a partial message gets its defaults filled in
// (the message type's fromPartial), and a response that cannot be serialized
// becomes an INTERNAL status naming the method, the field and its value, and
// is logged, instead of grpc-js's bare "Error serializing response".
// The server is given serializers that hand grpc-js those bytes: lent from
// the encoder's memory, which grpc-js copies into its frame at once.
import type { MethodDefinitionShape, ServiceDefinitionShape } from "../protocol/service-types.js";
import { LentBytes, lendMessage, type MessageType } from "../protocol/message-types.js";
import { internal, type DriverError } from "./driver-error.js";
import type { Logger } from "./logger.js";

export type ResponseEncoder = (response: unknown) => LentBytes;

/** The definition grpc-js registers: responses arrive already encoded. */
export function preEncoded<S extends ServiceDefinitionShape>(definition: S): S {
  const out: Record<string, MethodDefinitionShape> = {};
  for (const [name, method] of Object.entries(definition)) {
    out[name] = { ...method, responseSerialize: (bytes: LentBytes) => bytes.take() };
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
    ? (response: unknown) => lendMessage(type, type.fromPartial(response as never))
    : (response: unknown) => new LentBytes(method.responseSerialize(response));
  return (response) => {
    try {
      return encode(response);
    } catch (err) {
      throw unserializable(method.path, response, type, err, log);
    }
  };
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
