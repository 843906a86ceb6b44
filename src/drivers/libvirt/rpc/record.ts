// libvirt's RPC records: a 4-byte big-endian length (counting itself), a
// 24-byte header (program, version, procedure, type, serial, status) and an
// XDR body. This file is the only place that knows the layout; RecordSplitter
// cuts a byte stream (socket or ssh pipe) into records and refuses one whose
// length is impossible before buffering it.

/** Message types (virNetMessageType). */
export enum MessageType {
  CALL = 0,
  REPLY = 1,
  MESSAGE = 2,
  STREAM = 3,
  CALL_WITH_FDS = 4,
  REPLY_WITH_FDS = 5,
  STREAM_HOLE = 6,
}

/** Statuses (virNetMessageStatus). */
export enum MessageStatus {
  OK = 0,
  ERROR = 1,
  CONTINUE = 2,
}

export interface Header {
  program: number;
  version: number;
  procedure: number;
  type: MessageType;
  serial: number;
  status: MessageStatus;
}

export interface RpcRecord {
  header: Header;
  body: Buffer;
}

const LENGTH_BYTES = 4;
const HEADER_BYTES = 24;
/** libvirt's VIR_NET_MESSAGE_MAX: the daemon never sends more, and we never buffer more. */
export const RECORD_MAX = 32 * 1024 * 1024;
/** The largest body of one stream data record libvirt's own client sends (VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX). */
export const STREAM_CHUNK_MAX = 262_120;

export function encodeRecord(header: Header, body: Buffer = Buffer.alloc(0)): Buffer {
  const total = LENGTH_BYTES + HEADER_BYTES + body.length;
  if (total > RECORD_MAX)
    throw new RangeError(`a libvirt record of ${total} bytes is over the ${RECORD_MAX}-byte limit`);
  const out = Buffer.allocUnsafe(total);
  out.writeUInt32BE(total, 0);
  out.writeUInt32BE(header.program, 4);
  out.writeUInt32BE(header.version, 8);
  out.writeInt32BE(header.procedure, 12);
  out.writeInt32BE(header.type, 16);
  out.writeUInt32BE(header.serial, 20);
  out.writeInt32BE(header.status, 24);
  body.copy(out, LENGTH_BYTES + HEADER_BYTES);
  return out;
}

export class RecordError extends Error {
  override name = "RecordError";
}

/** Feeds bytes in, hands whole records out, in order. */
export class RecordSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly onRecord: (record: RpcRecord) => void) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= LENGTH_BYTES) {
      const head = this.peek(LENGTH_BYTES);
      const total = head.readUInt32BE(0);
      if (total < LENGTH_BYTES + HEADER_BYTES || total > RECORD_MAX) {
        throw new RecordError(
          `the peer sent a record length of ${total} bytes (allowed: ${LENGTH_BYTES + HEADER_BYTES} to ${RECORD_MAX}): not a libvirt RPC stream`,
        );
      }
      if (this.buffered < total) return;
      const bytes = this.take(total);
      this.onRecord({
        header: {
          program: bytes.readUInt32BE(4),
          version: bytes.readUInt32BE(8),
          procedure: bytes.readInt32BE(12),
          type: bytes.readInt32BE(16),
          serial: bytes.readUInt32BE(20),
          status: bytes.readInt32BE(24),
        },
        body: bytes.subarray(LENGTH_BYTES + HEADER_BYTES),
      });
    }
  }

  /** Bytes of a record that had begun when the stream ended (0: it ended between records). */
  get pending(): number {
    return this.buffered;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!;
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined;
  }

  private take(n: number): Buffer {
    const first = this.peek(n);
    const out = first.subarray(0, n);
    const rest = first.subarray(n);
    this.chunks[0] = rest;
    if (rest.length === 0) this.chunks.shift();
    this.buffered -= n;
    return out;
  }
}
