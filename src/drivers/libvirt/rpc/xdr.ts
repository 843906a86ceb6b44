// XDR (RFC 4506), the encoding of every libvirt RPC body, as composable typed
// codecs: a procedure's argument and reply shapes are values built from these
// (struct, optional, array...), so the procedure table stays data and the
// TypeScript types of calls follow from it. Only what libvirt's protocol uses
// is here. Decoding is bounded: a length never reads past the record, and
// variable-length items have the maxima libvirt's .x files give them.

/** Thrown when bytes do not decode as the expected shape (a truncated or foreign record). */
export class XdrError extends Error {
  override name = "XdrError";
}

export class XdrWriter {
  private buf = Buffer.allocUnsafe(256);
  private len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  int(v: number): void {
    this.room(4);
    this.buf.writeInt32BE(v, this.len);
    this.len += 4;
  }
  uint(v: number): void {
    this.room(4);
    this.buf.writeUInt32BE(v, this.len);
    this.len += 4;
  }
  hyper(v: bigint): void {
    this.room(8);
    this.buf.writeBigInt64BE(v, this.len);
    this.len += 8;
  }
  uhyper(v: bigint): void {
    this.room(8);
    this.buf.writeBigUInt64BE(v, this.len);
    this.len += 8;
  }
  /** Bytes padded to a multiple of four with zeros. */
  fixed(bytes: Uint8Array): void {
    const padded = (bytes.length + 3) & ~3;
    this.room(padded);
    this.buf.set(bytes, this.len);
    this.buf.fill(0, this.len + bytes.length, this.len + padded);
    this.len += padded;
  }
  variable(bytes: Uint8Array): void {
    this.uint(bytes.length);
    this.fixed(bytes);
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

export class XdrReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  private take(n: number, what: string): number {
    if (n > this.buf.length - this.pos) {
      throw new XdrError(
        `${what} needs ${n} bytes at offset ${this.pos}, but only ${this.buf.length - this.pos} remain`,
      );
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }
  int(): number {
    return this.buf.readInt32BE(this.take(4, "an int"));
  }
  uint(): number {
    return this.buf.readUInt32BE(this.take(4, "an unsigned int"));
  }
  hyper(): bigint {
    return this.buf.readBigInt64BE(this.take(8, "a hyper"));
  }
  uhyper(): bigint {
    return this.buf.readBigUInt64BE(this.take(8, "an unsigned hyper"));
  }
  fixed(n: number): Buffer {
    const at = this.take((n + 3) & ~3, `${n} opaque bytes`);
    return this.buf.subarray(at, at + n);
  }
  variable(max: number, what: string): Buffer {
    const n = this.uint();
    if (n > max) throw new XdrError(`${what} of ${n} bytes is over its maximum of ${max}`);
    return this.fixed(n);
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
}

/** One XDR shape: how a value of type T is written and read. */
export interface Codec<T> {
  write(w: XdrWriter, value: T): void;
  read(r: XdrReader): T;
}

export type Infer<C> = C extends Codec<infer T> ? T : never;

export const int: Codec<number> = { write: (w, v) => w.int(v), read: (r) => r.int() };
export const uint: Codec<number> = { write: (w, v) => w.uint(v), read: (r) => r.uint() };
export const hyper: Codec<bigint> = { write: (w, v) => w.hyper(v), read: (r) => r.hyper() };
export const uhyper: Codec<bigint> = { write: (w, v) => w.uhyper(v), read: (r) => r.uhyper() };
export const bool: Codec<boolean> = {
  write: (w, v) => w.int(v ? 1 : 0),
  read: (r) => {
    const v = r.int();
    if (v !== 0 && v !== 1) throw new XdrError(`a bool must be 0 or 1, got ${v}`);
    return v === 1;
  },
};
/** No body at all (XDR `void`): procedures without arguments or reply. */
export const none: Codec<void> = { write: () => undefined, read: () => undefined };

/** libvirt's REMOTE_STRING_MAX: 4 MiB for any one string (domain XML included). */
export const STRING_MAX = 4 * 1024 * 1024;

export function string(max = STRING_MAX): Codec<string> {
  return {
    write: (w, v) => {
      const bytes = Buffer.from(v, "utf8");
      if (bytes.length > max) throw new XdrError(`a string of ${bytes.length} bytes is over its maximum of ${max}`);
      w.variable(bytes);
    },
    read: (r) => r.variable(max, "a string").toString("utf8"),
  };
}

export function opaque(length: number): Codec<Buffer> {
  return {
    write: (w, v) => {
      if (v.length !== length) throw new XdrError(`fixed opaque data must be ${length} bytes, got ${v.length}`);
      w.fixed(v);
    },
    read: (r) => Buffer.from(r.fixed(length)),
  };
}

/** XDR's `T *`: present or not, as a bool then the value. */
export function optional<T>(inner: Codec<T>): Codec<T | undefined> {
  return {
    write: (w, v) => {
      w.int(v === undefined ? 0 : 1);
      if (v !== undefined) inner.write(w, v);
    },
    read: (r) => (bool.read(r) ? inner.read(r) : undefined),
  };
}

export function array<T>(inner: Codec<T>, max: number): Codec<T[]> {
  return {
    write: (w, v) => {
      if (v.length > max) throw new XdrError(`an array of ${v.length} items is over its maximum of ${max}`);
      w.uint(v.length);
      for (const item of v) inner.write(w, item);
    },
    read: (r) => {
      const n = r.uint();
      if (n > max) throw new XdrError(`an array of ${n} items is over its maximum of ${max}`);
      // Every XDR item takes at least four bytes: a count the record cannot hold is garbage.
      if (n * 4 > r.remaining) throw new XdrError(`an array of ${n} items cannot fit in the ${r.remaining} bytes left`);
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(inner.read(r));
      return out;
    },
  };
}

type Fields = Record<string, Codec<unknown>>;
export type StructOf<F extends Fields> = { [K in keyof F]: Infer<F[K]> };

/** An XDR struct: its fields in the order written in the object literal. */
export function struct<F extends Fields>(fields: F): Codec<StructOf<F>> {
  const entries = Object.entries(fields);
  return {
    write: (w, v) => {
      for (const [name, codec] of entries) codec.write(w, (v as Record<string, unknown>)[name]);
    },
    read: (r) => {
      const out: Record<string, unknown> = {};
      for (const [name, codec] of entries) out[name] = codec.read(r);
      return out as StructOf<F>;
    },
  };
}

export function encode<T>(codec: Codec<T>, value: T): Buffer {
  const w = new XdrWriter();
  codec.write(w, value);
  return w.bytes();
}

/** Decodes a whole body: bytes left over mean the shape was wrong. */
export function decode<T>(codec: Codec<T>, bytes: Buffer): T {
  const r = new XdrReader(bytes);
  const value = codec.read(r);
  if (r.remaining !== 0) throw new XdrError(`${r.remaining} bytes were left over after the expected shape`);
  return value;
}
