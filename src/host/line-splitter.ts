// Splits a byte stream into lines without trusting the other end: a line
// longer than the limit is cut (and the rest of it dropped), so a plugin that
// floods without newlines cannot grow the host's memory.

export interface Line {
  text: string;
  /** True when the line was longer than the limit and was cut. */
  cut: boolean;
}

export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  /** Inside an over-long line whose start was already emitted. */
  private dropping = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: Line) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(10, start);
      const end = nl === -1 ? chunk.length : nl;
      if (this.dropping) {
        if (nl !== -1) this.dropping = false;
      } else {
        this.take(chunk.subarray(start, end));
        if (nl !== -1) this.emit(false);
      }
      if (nl === -1) return;
      start = nl + 1;
    }
  }

  /** Emits a last unterminated line, if any. */
  end(): void {
    if (this.size > 0 && !this.dropping) this.emit(false);
    this.parts = [];
    this.size = 0;
  }

  private take(piece: Buffer): void {
    const room = this.maxBytes - this.size;
    if (piece.length <= room) {
      if (piece.length > 0) {
        // Copy: the stream may reuse its buffer, and a small slice would pin a big chunk.
        this.parts.push(Buffer.from(piece));
        this.size += piece.length;
      }
      return;
    }
    this.parts.push(Buffer.from(piece.subarray(0, room)));
    this.size += room;
    this.emit(true);
    this.dropping = true;
  }

  private emit(cut: boolean): void {
    const text = Buffer.concat(this.parts, this.size).toString("utf8").replace(/\r$/, "");
    this.parts = [];
    this.size = 0;
    this.onLine({ text, cut });
  }
}
