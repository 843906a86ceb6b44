// Fuzzes what a host parses from an untrusted plugin before anything else:
// the handshake line and protocol version lists. Random and mutated inputs
// must either parse into something that meets the format, or fail with the
// documented error class and a message; nothing else may escape.
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { formatHandshake, HandshakeError, parseHandshake, type Handshake } from "../../src/protocol/handshake.js";
import { negotiateVersion, parseVersionList, VersionMismatchError } from "../../src/protocol/versions.js";
import { Figures } from "./figures.js";
import { fuzzSeed } from "./fuzz-seed.js";

const seed = fuzzSeed("handshake");
const figures = new Figures("fuzz-handshake");
afterAll(() => figures.print());

/** The format, written independently of the parser: what an accepted line must look like. */
function meetsFormat(line: string, h: Handshake): boolean {
  const text = line.replace(/\r?\n$/, "");
  if (/[\x00-\x1f\x7f]/.test(text)) return false;
  const f = text.split("|");
  if (f.length !== 6 && f.length !== 7) return false;
  return (
    /^[0-9]+$/.test(f[0]!) &&
    Number(f[0]) === 1 &&
    h.coreVersion === 1 &&
    /^[0-9]{1,9}$/.test(f[1]!) &&
    Number(f[1]) > 0 &&
    h.appVersion === Number(f[1]) &&
    (f[2] === "unix" || f[2] === "tcp") &&
    h.network === f[2] &&
    f[3] !== "" &&
    h.address === f[3] &&
    (f[4] === "grpc" || f[4] === "netrpc") &&
    h.protocol === f[4] &&
    /^[A-Za-z0-9+/]*$/.test(f[5]!) &&
    h.serverCert === f[5] &&
    (f.length === 6
      ? h.multiplex === undefined
      : (f[6] === "true" || f[6] === "false") && h.multiplex === (f[6] === "true"))
  );
}

/** Parses; records whether it was accepted; anything but a HandshakeError fails the property. */
function check(line: string): boolean {
  figures.add("lines");
  let h: Handshake;
  try {
    h = parseHandshake(line);
  } catch (err) {
    if (!(err instanceof HandshakeError))
      throw new Error(`parseHandshake threw ${String(err)}, not a HandshakeError`, { cause: err });
    if (!err.message.startsWith("invalid handshake line")) return false;
    figures.add("rejected");
    return true;
  }
  figures.add("accepted");
  return meetsFormat(line, h);
}

const validHandshake: fc.Arbitrary<Handshake> = fc.record(
  {
    coreVersion: fc.constant(1),
    appVersion: fc.integer({ min: 1, max: 999_999_999 }),
    network: fc.constantFrom("unix" as const, "tcp" as const),
    address: fc.stringMatching(/^\/[A-Za-z0-9._/-]{1,100}$/),
    protocol: fc.constantFrom("grpc" as const, "netrpc" as const),
    serverCert: fc.oneof(
      fc.constant(""),
      fc
        .base64String({ minLength: 4, maxLength: 200 })
        .map((s) => s.replace(/=+$/, ""))
        .filter((s) => s !== ""),
    ),
    multiplex: fc.boolean(),
  },
  { requiredKeys: ["coreVersion", "appVersion", "network", "address", "protocol", "serverCert"] },
);

/** Small edits an attacker or a buggy plugin could make to a valid line. */
const mutation = fc.oneof(
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    text: fc.oneof(
      fc.string({ maxLength: 3 }),
      fc.constantFrom("|", "\n", "\r", "\0", " ", "=", "-", "0", "\u00e9", "\ud83d\ude00"),
    ),
  }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
  fc.record({
    kind: fc.constant("field" as const),
    index: fc.nat({ max: 7 }),
    text: fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom(
        "",
        "0",
        "01",
        "-1",
        "2",
        "1e3",
        "0x1",
        " 1",
        "UNIX",
        "tcp6",
        "http",
        "true",
        "TRUE",
        "yes",
        "a=",
        "999999999999",
      ),
    ),
  }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(line: string, list: Mutation[]): string {
  let out = line;
  for (const m of list) {
    if (m.kind === "insert") {
      const at = m.at % (out.length + 1);
      out = out.slice(0, at) + m.text + out.slice(at);
    } else if (m.kind === "delete") {
      const at = m.at % (out.length + 1);
      out = out.slice(0, at) + out.slice(at + m.count);
    } else {
      const fields = out.split("|");
      fields[m.index % (fields.length + 1)] = m.text;
      out = fields.map((f) => f ?? "").join("|");
    }
  }
  return out;
}

describe("handshake parser under fuzzing", () => {
  it("accepts every well-formed line and gives back exactly what was printed", () => {
    fc.assert(
      fc.property(validHandshake, (h) => {
        figures.add("lines");
        figures.add("accepted");
        const line = formatHandshake(h);
        expect(parseHandshake(`${line}\n`)).toEqual(h);
      }),
      { seed, numRuns: 500 },
    );
  });

  it("random text: only HandshakeError, and nothing accepted that breaks the format", () => {
    fc.assert(fc.property(fc.string({ maxLength: 300, unit: "binary" }), check), { seed, numRuns: 2000 });
  });

  it("random pipe-separated fields: only HandshakeError, and nothing accepted that breaks the format", () => {
    const field = fc.oneof(
      fc.string({ maxLength: 20, unit: "binary" }),
      fc.constantFrom("1", "unix", "tcp", "grpc", "netrpc", "", "true", "false", "/a.sock"),
    );
    fc.assert(
      fc.property(fc.array(field, { minLength: 0, maxLength: 9 }), (fields) => check(fields.join("|"))),
      { seed, numRuns: 3000 },
    );
  });

  it("mutated valid lines: only HandshakeError, and nothing accepted that breaks the format", () => {
    fc.assert(
      fc.property(validHandshake, fc.array(mutation, { minLength: 1, maxLength: 4 }), (h, edits) =>
        check(mutate(formatHandshake(h), edits)),
      ),
      { seed, numRuns: 3000 },
    );
  });

  it("over-long lines are refused with a message, not parsed", () => {
    fc.assert(
      fc.property(fc.integer({ min: 64 * 1024 + 1, max: 200_000 }), (n) => {
        figures.add("lines");
        expect(() => parseHandshake(`1|1|unix|/${"a".repeat(n)}|grpc|`)).toThrow(HandshakeError);
        figures.add("rejected");
      }),
      { seed, numRuns: 20 },
    );
  });

  it("refuses control characters anywhere in the line (a NUL or CR in the address is not a path)", () => {
    for (const c of ["\0", "\r", "\x1b", "\x7f", "\t"]) {
      figures.add("lines");
      expect(() => parseHandshake(`1|1|unix|/run/p${c}x.sock|grpc|`)).toThrow(HandshakeError);
      figures.add("rejected");
    }
  });
});

describe("protocol version lists under fuzzing", () => {
  it("random text parses to positive integers or fails naming the bad entry", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 40, unit: "binary" }),
          fc
            .array(fc.oneof(fc.nat().map(String), fc.constantFrom("", " ", "0", "-1", "1.5", "1e2", "x", " 2 ")), {
              maxLength: 6,
            })
            .map((a) => a.join(",")),
        ),
        (text) => {
          figures.add("versionLists");
          let list: number[];
          try {
            list = parseVersionList(text);
          } catch (err) {
            expect(err).toBeInstanceOf(Error);
            expect((err as Error).message).toMatch(
              /^invalid protocol version ".*" in ".*": expected positive integers/s,
            );
            figures.add("versionListsRejected");
            return;
          }
          for (const v of list) expect(Number.isInteger(v) && v > 0 && v < 1e9).toBe(true);
        },
      ),
      { seed, numRuns: 2000 },
    );
  });

  it("well-formed lists (spaces, trailing commas) give back exactly their numbers", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 999_999_999 }), { maxLength: 8 }),
        fc.constantFrom("", ",", " ,"),
        fc.constantFrom(",", ", ", " , "),
        (versions, tail, sep) => {
          figures.add("versionLists");
          expect(parseVersionList(versions.join(sep) + tail)).toEqual(versions);
        },
      ),
      { seed, numRuns: 500 },
    );
  });

  it("negotiation picks the highest common version or names both lists", () => {
    const list = fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 6 });
    fc.assert(
      fc.property(list, list, (ours, theirs) => {
        figures.add("negotiations");
        const common = ours.filter((v) => theirs.includes(v));
        if (common.length === 0) {
          expect(() => negotiateVersion(ours, theirs)).toThrow(VersionMismatchError);
        } else {
          expect(negotiateVersion(ours, theirs)).toBe(Math.max(...common));
        }
      }),
      { seed, numRuns: 1000 },
    );
  });
});
