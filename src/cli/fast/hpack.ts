// HPACK (RFC 7541) for the fast status path's HTTP/2 client (h2-client.ts):
// header blocks it sends are literals without indexing and without Huffman
// coding (valid for every decoder, and no state to keep); blocks it receives
// are decoded in full, as a plugin's HTTP/2 server (nghttp2, in Node) encodes
// them: its static and dynamic tables and Huffman-coded strings.
//
// Names and values are octets; they are kept as latin1 strings, one character
// per octet. Anything malformed throws HpackError: the connection is then
// unusable, and the caller takes the full path.

export class HpackError extends Error {
  override name = "HpackError";
}

export type HeaderField = [name: string, value: string];

/** RFC 7541 Appendix A. */
const STATIC_TABLE: readonly HeaderField[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ...[
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "accept",
    "access-control-allow-origin",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-range",
    "content-type",
    "cookie",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "link",
    "location",
    "max-forwards",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "refresh",
    "retry-after",
    "server",
    "set-cookie",
    "strict-transport-security",
    "transfer-encoding",
    "user-agent",
    "vary",
    "via",
    "www-authenticate",
  ].map((name): HeaderField => [name, name === "accept-encoding" ? "gzip, deflate" : ""]),
];

/**
 * The bit length of each symbol's Huffman code (RFC 7541 Appendix B), for
 * symbols 0..255 and EOS (256), as characters from "A" (length 5) on. The code
 * is canonical: ordered by length, then symbol, each code is the previous one
 * plus one, shifted left by the growth in length. So the lengths are the
 * whole table.
 */
const HUFFMAN_LENGTHS =
  "ISXXXXXXXTZXXZXXXXXXXXZXXXXXXXXXBFFHIBDGFFDGDBBBAAABBBBBBBCDKBHFIBCCCCCCCCCCCCCCCCCCCCCCDCDIOIJBKABABABBBACCBBBABCBAABCCCCCKGJIXPRPPRRRSRSSSSSTSTTRSTSSSSQRSRSSTRQPRRSSQSRRTQRSSQQRQSRSSPRRRSRRSVVPORSRUVVVWWVTUOQVWWVWTQQVVXWWWPTPQRQQSRRUUTTVSVWVVWWWWWXWWWWWVZ";

/** Per length: the first code, how many codes, and where their symbols start in SYMBOLS. */
const HUFFMAN = (() => {
  const lengths = Array.from(HUFFMAN_LENGTHS, (c) => c.charCodeAt(0) - 60);
  if (lengths.length !== 257) throw new Error("HPACK Huffman table: 257 code lengths expected");
  const symbols = lengths.map((_, symbol) => symbol).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const first = new Array<number>(31).fill(0);
  const count = new Array<number>(31).fill(0);
  const start = new Array<number>(31).fill(0);
  let code = 0;
  let length = lengths[symbols[0]!]!;
  for (const [i, symbol] of symbols.entries()) {
    const l = lengths[symbol]!;
    if (i > 0) code = (code + 1) * 2 ** (l - length);
    length = l;
    if (count[l] === 0) {
      first[l] = code;
      start[l] = i;
    }
    count[l]!++;
  }
  return { symbols, first, count, start };
})();

const EOS = 256;

/** Decodes a Huffman-coded string (RFC 7541 section 5.2). */
export function huffmanDecode(bytes: Uint8Array): string {
  let out = "";
  let code = 0;
  let length = 0;
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1);
      length++;
      const offset = code - HUFFMAN.first[length]!;
      if (length >= 5 && offset >= 0 && offset < HUFFMAN.count[length]!) {
        const symbol = HUFFMAN.symbols[HUFFMAN.start[length]! + offset]!;
        if (symbol === EOS) throw new HpackError("a Huffman-coded string holds EOS");
        out += String.fromCharCode(symbol);
        code = 0;
        length = 0;
      } else if (length >= 30) throw new HpackError("a Huffman code longer than 30 bits");
    }
  }
  // What is left must be padding: fewer than 8 bits, all ones (a prefix of EOS).
  if (length > 7 || code !== 2 ** length - 1) throw new HpackError("a Huffman-coded string ends in bad padding");
  return out;
}

/** A decoder's state: its dynamic table, which lives as long as the connection. */
export class HpackDecoder {
  private readonly dynamic: HeaderField[] = [];
  private size = 0;
  private maxSize: number;

  /** `limit`: the SETTINGS_HEADER_TABLE_SIZE this side announced (4096, HTTP/2's default). */
  constructor(private readonly limit = 4096) {
    this.maxSize = limit;
  }

  /** The fields of one whole header block (HEADERS and its CONTINUATIONs, joined). */
  decode(block: Uint8Array): HeaderField[] {
    const fields: HeaderField[] = [];
    const reader = { bytes: block, at: 0 };
    while (reader.at < block.length) {
      const byte = block[reader.at]!;
      if (byte & 0x80) {
        fields.push(this.field(readInt(reader, 7)));
      } else if (byte & 0x40) {
        const field = this.literal(reader, 6);
        this.insert(field);
        fields.push(field);
      } else if (byte & 0x20) {
        const size = readInt(reader, 5);
        if (size > this.limit) throw new HpackError(`a table size update to ${size}, over ${this.limit}`);
        this.maxSize = size;
        this.evict(0);
      } else {
        // Without indexing (0000) or never indexed (0001): the same to a decoder.
        fields.push(this.literal(reader, 4));
      }
    }
    return fields;
  }

  private field(index: number): HeaderField {
    if (index === 0) throw new HpackError("a header field with index 0");
    const field =
      index <= STATIC_TABLE.length ? STATIC_TABLE[index - 1] : this.dynamic[index - STATIC_TABLE.length - 1];
    if (field === undefined) throw new HpackError(`a header field index ${index} past the tables' end`);
    return field;
  }

  private literal(reader: Reader, prefix: number): HeaderField {
    const index = readInt(reader, prefix);
    const name = index === 0 ? readString(reader) : this.field(index)[0];
    return [name, readString(reader)];
  }

  private insert(field: HeaderField): void {
    const size = field[0].length + field[1].length + 32;
    this.evict(size);
    // An entry larger than the table empties it and is not kept (RFC 7541 section 4.4).
    if (size > this.maxSize) return;
    this.dynamic.unshift(field);
    this.size += size;
  }

  /** Evicts the oldest entries until `room` more octets fit. */
  private evict(room: number): void {
    while (this.dynamic.length > 0 && this.size + room > this.maxSize) {
      const [name, value] = this.dynamic.pop()!;
      this.size -= name.length + value.length + 32;
    }
  }
}

interface Reader {
  bytes: Uint8Array;
  at: number;
}

/** An integer with an N-bit prefix (RFC 7541 section 5.1); the prefix's other bits are skipped. */
function readInt(reader: Reader, prefix: number): number {
  const max = (1 << prefix) - 1;
  let value = reader.bytes[reader.at++]! & max;
  if (value < max) return value;
  for (let shift = 0; ; shift += 7) {
    if (reader.at >= reader.bytes.length) throw new HpackError("a header block ends inside an integer");
    if (shift > 21) throw new HpackError("an integer too large for a header block");
    const byte = reader.bytes[reader.at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return value;
  }
}

function readString(reader: Reader): string {
  if (reader.at >= reader.bytes.length) throw new HpackError("a header block ends before a string");
  const huffman = (reader.bytes[reader.at]! & 0x80) !== 0;
  const length = readInt(reader, 7);
  const end = reader.at + length;
  if (end > reader.bytes.length) throw new HpackError("a string runs past its header block");
  const raw = reader.bytes.subarray(reader.at, end);
  reader.at = end;
  return huffman ? huffmanDecode(raw) : Buffer.from(raw).toString("latin1");
}

/** Encodes fields as literals without indexing, names and values as plain octets (latin1). */
export function encodeHeaderBlock(fields: readonly HeaderField[]): Buffer {
  const parts: number[] = [];
  const int = (value: number, prefix: number, first: number) => {
    const max = (1 << prefix) - 1;
    if (value < max) {
      parts.push(first | value);
      return;
    }
    parts.push(first | max);
    for (value -= max; value >= 0x80; value = Math.floor(value / 0x80)) parts.push((value % 0x80) | 0x80);
    parts.push(value);
  };
  const string = (text: string) => {
    int(text.length, 7, 0);
    for (let i = 0; i < text.length; i++) parts.push(text.charCodeAt(i) & 0xff);
  };
  for (const [name, value] of fields) {
    parts.push(0x00);
    string(name);
    string(value);
  }
  return Buffer.from(parts);
}
