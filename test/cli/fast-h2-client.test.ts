// The fast status path's HTTP/2 client and HPACK decoder: RFC 7541's own
// examples; Node's HTTP/2 server (nghttp2, what every driverplug plugin
// serves with) as the encoder of record, with Huffman-coded, indexed and
// evicted header fields; and peers that misbehave at the frame level, each
// of which fails the call (the CLI then takes its full path) rather than
// hanging or crashing the process.
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer as createH2Server, type Http2Server } from "node:http2";
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { H2Connection, UnaryFailure } from "../../src/cli/fast/h2-client.js";
import { encodeHeaderBlock, HpackDecoder, HpackError, huffmanDecode } from "../../src/cli/fast/hpack.js";

const hex = (text: string) => Buffer.from(text.replace(/\s/g, ""), "hex");
/** A gRPC message as it travels: not compressed, its length, its bytes. */
function grpcFrame(message: Buffer): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

describe("HPACK decoding", () => {
  it("decodes RFC 7541's request examples, with and without Huffman coding, through the dynamic table", () => {
    const plain = new HpackDecoder();
    const first = [
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/"],
      [":authority", "www.example.com"],
    ];
    expect(plain.decode(hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"))).toEqual(first);
    // The second request names :authority by its dynamic table index (62).
    expect(plain.decode(hex("8286 84be 5808 6e6f 2d63 6163 6865"))).toEqual([...first, ["cache-control", "no-cache"]]);

    const huffman = new HpackDecoder();
    expect(huffman.decode(hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"))).toEqual(first);
    expect(huffman.decode(hex("8286 84be 5886 a8eb 1064 9cbf"))).toEqual([...first, ["cache-control", "no-cache"]]);
  });

  it("round-trips its own literals, long ones included", () => {
    const fields: [string, string][] = [
      ["x-long", "v".repeat(300)],
      ["x-empty", ""],
      ["x-bytes", String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i))],
    ];
    expect(new HpackDecoder().decode(encodeHeaderBlock(fields))).toEqual(fields);
  });

  it("refuses malformed blocks: index 0, an index past the tables, a string past its block, bad Huffman padding", () => {
    for (const block of ["80", "ff00", "0f8a01", "0003616263", "0083ff"]) {
      expect(() => new HpackDecoder().decode(hex(block)), block).toThrow(HpackError);
    }
    // "a" is 00011 in Huffman: padded with ones it decodes, with zeros it does not.
    expect(huffmanDecode(hex("1f"))).toBe("a");
    expect(() => huffmanDecode(hex("18"))).toThrow(HpackError);
    // A table size update over what this side allows.
    expect(() => new HpackDecoder(4096).decode(hex("3fe21f"))).toThrow("table size update");
  });
});

describe("the HTTP/2 client against Node's HTTP/2 server", () => {
  let dir: string;
  let server: Http2Server;
  let socket: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "dp-h2-"));
    socket = join(dir, "s.sock");
    // Answers /echo with the request's message; /fail/<n> with status n and the request as its message.
    server = createH2Server();
    server.on("stream", (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const message = Buffer.concat(chunks).subarray(5);
        const path = String(headers[":path"]);
        if (path.startsWith("/fail/")) {
          stream.respond(
            {
              ":status": 200,
              "content-type": "application/grpc",
              "grpc-status": path.slice("/fail/".length),
              "grpc-message": message.toString("latin1"),
            },
            { endStream: true },
          );
          return;
        }
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
        stream.on("wantTrailers", () =>
          stream.sendTrailers({ "grpc-status": "0", "x-echo": message.toString("latin1") }),
        );
        stream.end(grpcFrame(message));
      });
    });
    server.listen(socket);
    await once(server, "listening");
  });

  afterEach(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers calls, several at once, on one connection", async () => {
    const h2 = new H2Connection(socket);
    try {
      const answers = await Promise.all(
        ["one", "two", "three"].map((m) => h2.call("/echo", Buffer.from(m), { timeoutMs: 10_000 })),
      );
      expect(answers.map(String)).toEqual(["one", "two", "three"]);
      expect(String(await h2.call("/echo", Buffer.alloc(0), { timeoutMs: 10_000 }))).toBe("");
    } finally {
      h2.destroy();
    }
  });

  it("reads each status message the server's encoder sends: Huffman-coded, indexed, evicted, long", async () => {
    const h2 = new H2Connection(socket);
    const printable = String.fromCharCode(...Array.from({ length: 95 }, (_, i) => 0x20 + i));
    const high = String.fromCharCode(...Array.from({ length: 128 }, (_, i) => 0x80 + i));
    const values = [
      "not found",
      "not found", // the same again: now from the dynamic table
      printable,
      `\t${high}`,
      "x".repeat(5000), // larger than the dynamic table: not kept
      ...Array.from({ length: 60 }, (_, i) => `machine m${i} is busy: ${"y".repeat(i * 3)}`), // evictions
      "not found",
    ];
    try {
      for (const [i, value] of values.entries()) {
        const failure = await h2
          .call(`/fail/${(i % 15) + 1}`, Buffer.from(value, "latin1"), { timeoutMs: 10_000 })
          .then(
            () => undefined,
            (err: unknown) => err,
          );
        expect(failure).toBeInstanceOf(UnaryFailure);
        expect((failure as Error).message).toBe(`/fail/${(i % 15) + 1}: status ${(i % 15) + 1} ${value}`);
      }
      // Still in step with the encoder: a plain answer after all that.
      expect(String(await h2.call("/echo", Buffer.from("ok"), { timeoutMs: 10_000 }))).toBe("ok");
    } finally {
      h2.destroy();
    }
  });

  it("refuses a request larger than one frame before sending it", async () => {
    const h2 = new H2Connection(socket);
    try {
      await expect(h2.call("/echo", Buffer.alloc(20_000), { timeoutMs: 10_000 })).rejects.toThrow(
        "a request over 16384 bytes",
      );
      expect(String(await h2.call("/echo", Buffer.from("still fine"), { timeoutMs: 10_000 }))).toBe("still fine");
    } finally {
      h2.destroy();
    }
  });

  it("fails the calls still open when the connection is destroyed or the server goes", async () => {
    const h2 = new H2Connection(socket);
    const open = h2.call("/never", Buffer.alloc(0), { timeoutMs: 60_000 });
    server.removeAllListeners("stream");
    server.on("stream", () => undefined);
    h2.destroy();
    await expect(open).rejects.toBeInstanceOf(UnaryFailure);
    await expect(h2.call("/echo", Buffer.alloc(0), { timeoutMs: 1000 })).rejects.toBeInstanceOf(UnaryFailure);
  });
});

describe("the HTTP/2 client against a peer that misbehaves", () => {
  let dir: string;
  let server: Server;
  let socket: string;

  /** A raw peer: reads the client's preface and first request, then does `act`. */
  async function peer(act: (conn: Socket) => void): Promise<void> {
    dir = await mkdtemp(join(tmpdir(), "dp-h2-"));
    socket = join(dir, "s.sock");
    server = createNetServer((conn) => {
      let seen = Buffer.alloc(0);
      let acted = false;
      conn.on("data", (d: Buffer) => {
        seen = Buffer.concat([seen, d]);
        // Once the request's DATA frame arrived: 7 bytes ("hi", framed), END_STREAM, stream 1.
        if (!acted && seen.includes(Buffer.from([0, 0, 7, 0, 1, 0, 0, 0, 1]))) {
          acted = true;
          act(conn);
        }
      });
      conn.on("error", () => undefined);
    });
    server.listen(socket);
    await once(server, "listening");
  }

  afterEach(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const frameOf = (type: number, flags: number, id: number, payload: Buffer) => {
    const h = Buffer.alloc(9);
    h.writeUIntBE(payload.length, 0, 3);
    h[3] = type;
    h[4] = flags;
    h.writeUInt32BE(id, 5);
    return Buffer.concat([h, payload]);
  };
  const ok = encodeHeaderBlock([
    [":status", "200"],
    ["content-type", "application/grpc"],
  ]);
  const okTrailers = encodeHeaderBlock([["grpc-status", "0"]]);

  async function outcome(act: (conn: Socket) => void, timeoutMs = 10_000): Promise<string> {
    await peer(act);
    const h2 = new H2Connection(socket);
    try {
      return String(await h2.call("/x", Buffer.from("hi"), { timeoutMs }));
    } catch (err) {
      expect(err).toBeInstanceOf(UnaryFailure);
      return `failed: ${(err as Error).message}`;
    } finally {
      h2.destroy();
    }
  }

  it("takes an answer split over CONTINUATION frames, padded, after a PING it answers", async () => {
    const pings: Buffer[] = [];
    const got = await outcome((conn) => {
      conn.on("data", (d: Buffer) => {
        const at = d.indexOf(Buffer.from([0, 0, 8, 6, 1]));
        if (at >= 0) pings.push(d.subarray(at + 9, at + 17));
      });
      conn.write(frameOf(6, 0, 0, Buffer.from("pingpong")));
      conn.write(frameOf(1, 0x8, 1, Buffer.concat([Buffer.from([2]), ok.subarray(0, 3), Buffer.alloc(2)])));
      conn.write(frameOf(9, 0x4, 1, ok.subarray(3)));
      conn.write(frameOf(0, 0, 1, grpcFrame(Buffer.from("answer"))));
      conn.write(frameOf(1, 0x5, 1, okTrailers));
    });
    expect(got).toBe("answer");
    // The ACK was written before the answer was read; it may reach the peer a moment later.
    await expect.poll(() => pings.map(String)).toEqual(["pingpong"]);
  });

  it.each([
    ["GOAWAY", (c: Socket) => c.write(frameOf(7, 0, 0, Buffer.alloc(8))), "GOAWAY"],
    ["RST_STREAM", (c: Socket) => c.write(frameOf(3, 0, 1, Buffer.alloc(4))), "reset the stream"],
    ["a frame over 16 KiB", (c: Socket) => c.write(frameOf(0, 0, 1, Buffer.alloc(20_000))), "20000-byte frame"],
    ["a pushed stream", (c: Socket) => c.write(frameOf(5, 0x4, 1, Buffer.alloc(4))), "pushed a stream"],
    ["header index 0", (c: Socket) => c.write(frameOf(1, 0x4, 1, Buffer.from([0x80]))), "index 0"],
    [
      "HTTP status 500",
      (c: Socket) => c.write(frameOf(1, 0x5, 1, encodeHeaderBlock([[":status", "500"]]))),
      "HTTP status 500",
    ],
    [
      "an answer over 16 KiB",
      (c: Socket) => {
        c.write(frameOf(1, 0x4, 1, ok));
        for (let i = 0; i < 3; i++) c.write(frameOf(0, 0, 1, Buffer.alloc(8000)));
      },
      "an answer over 16384 bytes",
    ],
    [
      "two messages in one answer",
      (c: Socket) => {
        c.write(frameOf(1, 0x4, 1, ok));
        c.write(frameOf(0, 0, 1, Buffer.concat([grpcFrame(Buffer.from("a")), grpcFrame(Buffer.from("b"))])));
        c.write(frameOf(1, 0x5, 1, okTrailers));
      },
      "not one uncompressed gRPC message",
    ],
    ["a closed connection", (c: Socket) => c.destroy(), "closed the connection"],
  ])("fails the call on %s", async (_what, act, why) => {
    expect(await outcome(act)).toContain(why);
  });

  it("fails a call the peer never answers, once its deadline and a second have passed", async () => {
    expect(await outcome(() => undefined, 200)).toBe("failed: /x: no answer within 200 ms");
  });
});
