// The message types behind a grpc-js service definition's methods, read from
// ts-proto's generic definition of the same service (whose methods carry
// their message types), and encoding with fewer copies and allocations than
// the generated serializers: one writer kept between messages, requests
// copied out of it once (Buffer.from(Uint8Array) in the generated ones copies
// a second time), and a plugin's responses lent out of it with no copy at all.
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import type { MethodDefinitionShape, ServiceDefinitionShape } from "./service-types.js";

/** What ts-proto generates for each message, as far as encoding needs it. */
export interface MessageType {
  fromPartial(object: never): unknown;
  encode(message: never, writer?: BinaryWriter): { finish(): Uint8Array };
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

/**
 * A writer kept between messages. A new BinaryWriter grows by doubling, so a
 * 1 MiB config cost a zero-filled 2 MiB buffer per message before finish()
 * copied it out; that garbage made V8 run a full collection every one or two
 * 1 MiB calls. finish() resets the writer and keeps its buffer, so the next
 * message of that size writes into memory that is already there. A writer
 * that grew past SPARE_WRITER_BYTES of output is dropped rather than kept.
 */
let spareWriter: BinaryWriter | undefined;
const SPARE_WRITER_BYTES = 4 * 1024 * 1024;
/** The bytes last lent out of the kept writer's memory, until taken. */
let outstanding: LentBytes | undefined;

/** The kept writer, once the bytes it lent are safe from being overwritten. */
function takeWriter(): BinaryWriter {
  // Taken out while in use: a throw (or a getter that encodes) never sees a half-written writer.
  const writer = spareWriter ?? new BinaryWriter();
  spareWriter = undefined;
  outstanding?.detach();
  outstanding = undefined;
  return writer;
}

function keepWriter(writer: BinaryWriter, written: number): void {
  if (written <= SPARE_WRITER_BYTES) spareWriter = writer;
}

/** `message` encoded as `type` into a Buffer of its own (the copy finish() makes, and no other). */
export function encodeMessage(type: MessageType, message: unknown): Buffer {
  const writer = takeWriter();
  const bytes = type.encode(message as never, writer).finish();
  keepWriter(writer, bytes.byteLength);
  return asBuffer(bytes);
}

/**
 * BinaryWriter's own state (@bufbuild/protobuf 2.x): the bytes written are
 * buffer[0, pos). Read only to lend them; if a release changes it, lending
 * falls back to finish()'s copy (test/protocol/message-types.test.ts says so).
 */
interface WriterState {
  buffer: Uint8Array;
  pos: number;
  stackPos: number[];
}

function stateOf(writer: BinaryWriter): WriterState | undefined {
  const s = writer as unknown as Partial<WriterState>;
  return s.buffer instanceof Uint8Array && typeof s.pos === "number" && Array.isArray(s.stackPos)
    ? (s as WriterState)
    : undefined;
}

/**
 * An encoded message lent out of the kept writer's memory, for a consumer
 * that copies it at once (grpc-js's server copies a response into its frame
 * in the same call that serializes it). take() hands out the bytes; if the
 * writer is needed again first, the bytes are copied out before it is
 * overwritten, so a late take() still gets exactly what was encoded.
 */
export class LentBytes {
  private bytes: Buffer;

  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }

  /** The bytes, to be copied before anything else encodes (or owned, if they were detached). */
  take(): Buffer {
    if (outstanding === this) outstanding = undefined;
    return this.bytes;
  }

  /** Copies the bytes out of the writer's memory: it is about to be reused. */
  detach(): void {
    this.bytes = Buffer.from(this.bytes);
  }

  /** Whether these bytes are still the writer's (not yet taken or detached). */
  get onLoan(): boolean {
    return outstanding === this;
  }
}

/** `message` encoded as `type` into the kept writer and lent without a copy (see LentBytes). */
export function lendMessage(type: MessageType, message: unknown): LentBytes {
  const writer = takeWriter();
  type.encode(message as never, writer);
  const state = stateOf(writer);
  if (state === undefined || state.stackPos.length !== 0) {
    const bytes = writer.finish();
    keepWriter(writer, bytes.byteLength);
    return new LentBytes(asBuffer(bytes));
  }
  const written = state.pos;
  const lent = new LentBytes(asBuffer(state.buffer.subarray(0, written)));
  state.pos = 0;
  keepWriter(writer, written);
  // A writer too big to keep is dropped: its memory is the lent bytes' alone.
  if (spareWriter === writer) outstanding = lent;
  return lent;
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
    out[name] = { ...method, requestSerialize: (request: unknown) => encodeMessage(type, request) };
  }
  return out as S;
}
