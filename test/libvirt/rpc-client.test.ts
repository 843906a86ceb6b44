// The libvirt RPC client on its own: XDR and record framing, then a whole
// conversation replayed from packets recorded from a real libvirtd (what we
// send must match them byte for byte; errors map to statuses; events arrive
// as an async iterable), a daemon that drops the connection mid-call, and
// finally the same calls against a real libvirtd.
import { connect } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LibvirtConnection } from "../../src/drivers/libvirt/rpc/connection.js";
import { parseLibvirtUri, UriError } from "../../src/drivers/libvirt/rpc/connection-uri.js";
import { ConnectionClosedError, LibvirtError, statusOf } from "../../src/drivers/libvirt/rpc/libvirt-error.js";
import { proc } from "../../src/drivers/libvirt/rpc/procedures.js";
import {
  encodeRecord,
  MessageType,
  RecordError,
  RecordSplitter,
  type RpcRecord,
} from "../../src/drivers/libvirt/rpc/record.js";
import { remoteError } from "../../src/drivers/libvirt/rpc/remote-types.js";
import type { Transport } from "../../src/drivers/libvirt/rpc/transport.js";
import {
  array,
  decode,
  encode,
  int,
  optional,
  string,
  struct,
  uhyper,
  XdrError,
} from "../../src/drivers/libvirt/rpc/xdr.js";
import { Code } from "../../src/protocol/status.js";
import { ensureLibvirtDaemon } from "./libvirt-daemon.js";
import { recording, replayDaemon } from "./recorded-daemon.js";

function unixTransport(path: string): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.once("error", reject);
    const closed = new Promise<void>((r) => socket.once("close", () => r()));
    socket.once("connect", () =>
      resolve({
        stream: socket,
        label: `the recorded daemon at ${path}`,
        endReason: async () => (await closed, "the daemon closed the connection"),
        close: () => socket.destroy(),
      }),
    );
  });
}

describe("XDR", () => {
  it("encodes strings, optionals and structs as RFC 4506 says (padding, lengths)", () => {
    const shape = struct({ name: optional(string()), flags: int, big: uhyper });
    const bytes = encode(shape, { name: "ab", flags: -1, big: 2n ** 40n });
    expect(bytes.toString("hex")).toBe("00000001" + "00000002" + "61620000" + "ffffffff" + "0000010000000000");
    expect(decode(shape, bytes)).toEqual({ name: "ab", flags: -1, big: 2n ** 40n });
    expect(encode(optional(string()), undefined).toString("hex")).toBe("00000000");
  });

  it("round-trips any value of a nested shape", () => {
    const shape = struct({ s: string(64), list: array(struct({ n: int, o: optional(string(8)) }), 10) });
    fc.assert(
      fc.property(
        fc.record({
          s: fc.string({ maxLength: 16 }),
          list: fc.array(
            fc.record({
              n: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
              o: fc.option(fc.string({ maxLength: 2 }), { nil: undefined }),
            }),
            { maxLength: 10 },
          ),
        }),
        (value) => {
          expect(decode(shape, encode(shape, value))).toEqual(value);
        },
      ),
    );
  });

  it("refuses truncated bodies, leftovers, over-long strings and impossible counts", () => {
    expect(() => decode(string(), Buffer.from("0000000561", "hex"))).toThrow(XdrError);
    expect(() => decode(int, Buffer.alloc(8))).toThrow(/left over/);
    expect(() => decode(string(4), Buffer.from("0000000561626364650000000", "hex"))).toThrow(/maximum of 4/);
    expect(() => decode(array(int, 1000), Buffer.from("000003e8", "hex"))).toThrow(/cannot fit/);
    expect(() => encode(string(2), "abc")).toThrow(/maximum of 2/);
  });
});

describe("record framing", () => {
  const daemonRecords = recording().filter((r) => r.dir === "daemon");
  const wire = Buffer.concat(daemonRecords.map((r) => encodeRecord(r.header, r.body)));

  it("cuts the recorded byte stream into the same records however it is chunked", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 50 }), (sizes) => {
        const got: RpcRecord[] = [];
        const splitter = new RecordSplitter((r) => got.push(r));
        let at = 0;
        for (let i = 0; at < wire.length; i++) {
          const n = sizes[i % sizes.length]!;
          splitter.push(wire.subarray(at, at + n));
          at += n;
        }
        expect(splitter.pending).toBe(0);
        expect(got.map((r) => [r.header, r.body.toString("hex")])).toEqual(
          daemonRecords.map((r) => [r.header, r.body.toString("hex")]),
        );
      }),
    );
  });

  it("refuses a length no libvirt record can have before buffering it", () => {
    const splitter = new RecordSplitter(() => undefined);
    expect(() => splitter.push(Buffer.from("7fffffff", "hex"))).toThrow(RecordError);
    expect(() => new RecordSplitter(() => undefined).push(Buffer.from("00000004", "hex"))).toThrow(
      /not a libvirt RPC stream/,
    );
  });

  it("decodes the recorded error record: code 42 (no domain) and the daemon's message", () => {
    const error = daemonRecords.find((r) => r.header.status === 1)!;
    const decoded = decode(remoteError, error.body);
    expect(decoded.code).toBe(42);
    expect(decoded.message).toMatch(/driverplug-recorded-missing/);
  });
});

describe("the connection against recorded packets", () => {
  it("sends exactly the recorded records, maps the error to NOT_FOUND and delivers both lifecycle events", async () => {
    const daemon = await replayDaemon();
    try {
      const c = new LibvirtConnection(await unixTransport(daemon.path), "qemu:///session");
      await c.call(proc.authList, undefined);
      await c.call(proc.connectOpen, { name: "qemu:///session", flags: 0 });
      expect((await c.call(proc.connectGetLibVersion, undefined)).libVer).toBe(9_000_000n);
      const missing = await c
        .call(proc.domainLookupByName, { name: "driverplug-recorded-missing" })
        .catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(LibvirtError);
      expect((missing as LibvirtError).code).toBe(42);
      expect(statusOf(missing)).toBe(Code.NOT_FOUND);
      expect((missing as LibvirtError).procedure).toBe("DOMAIN_LOOKUP_BY_NAME");
      const events = await c.lifecycleEvents();
      const xml = decode(proc.domainDefineXmlFlags.args, recording()[10]!.body).xml;
      const { dom } = await c.call(proc.domainDefineXmlFlags, { xml, flags: 0 });
      expect(dom.name).toBe("driverplug-recorded");
      expect((await events.next()).value).toEqual({ domain: "driverplug-recorded", event: 0, detail: 0 });
      await c.call(proc.domainUndefineFlags, { dom, flags: 0 });
      expect((await events.next()).value).toEqual({ domain: "driverplug-recorded", event: 1, detail: 0 });
      await c.close();
      expect(c.isClosed).toBe(true);
      expect(daemon.mismatches).toEqual([]);
    } finally {
      await daemon.close();
    }
  });

  it("a daemon that drops the connection mid-call fails the call and the event iterator with UNAVAILABLE, saying why", async () => {
    // Serial 6 is the define: the daemon closes the socket instead of answering it.
    const daemon = await replayDaemon({ dropAfter: 6 });
    try {
      const c = new LibvirtConnection(await unixTransport(daemon.path), "qemu:///session");
      await c.call(proc.authList, undefined);
      await c.call(proc.connectOpen, { name: "qemu:///session", flags: 0 });
      await c.call(proc.connectGetLibVersion, undefined);
      await c.call(proc.domainLookupByName, { name: "driverplug-recorded-missing" }).catch(() => undefined);
      const events = await c.lifecycleEvents();
      const pendingEvent = events.next();
      const xml = decode(proc.domainDefineXmlFlags.args, recording()[10]!.body).xml;
      const define = await c.call(proc.domainDefineXmlFlags, { xml, flags: 0 }).catch((e: unknown) => e);
      expect(define).toBeInstanceOf(ConnectionClosedError);
      expect(statusOf(define)).toBe(Code.UNAVAILABLE);
      expect((define as Error).message).toMatch(/lost the connection to the recorded daemon .*closed the connection/);
      await expect(pendingEvent).rejects.toBe(define);
      // Later calls fail at once with the same error instead of hanging.
      await expect(c.call(proc.connectGetLibVersion, undefined)).rejects.toBe(define);
      expect(await c.closed).toBe(define);
    } finally {
      await daemon.close();
    }
  });
});

describe("URIs", () => {
  it("accepts the three forms and gives ssh only checked parts", () => {
    expect(parseLibvirtUri("qemu:///session")).toMatchObject({ kind: "local", mode: "session" });
    expect(parseLibvirtUri("qemu:///system")).toMatchObject({ kind: "local", mode: "system" });
    expect(parseLibvirtUri("qemu+ssh://lv@127.0.0.1:2222/session?keyfile=/tmp/k%20ey")).toEqual({
      kind: "ssh",
      mode: "session",
      user: "lv",
      host: "127.0.0.1",
      port: 2222,
      keyfile: "/tmp/k ey",
      text: "qemu+ssh://lv@127.0.0.1:2222/session?keyfile=/tmp/k%20ey",
      remoteUri: "qemu:///session",
    });
  });

  it.each([
    ["xen:///system", "scheme"],
    ["qemu+tcp://host/system", "scheme"],
    ["qemu://host/system", "host"],
    ["qemu:///sessions", "path"],
    ["qemu:///session?x=1", "query"],
    ["qemu+ssh://-oProxyCommand=x/session", "host"],
    ["qemu+ssh://host/session?keyfile=relative", "query parameter keyfile"],
    ["qemu+ssh://host/session?socket=/x", "query parameter socket"],
    ["qemu+ssh://u:pw@host/session", "password"],
    ["qemu+ssh://host:0/session", "port"],
    ["qemu+ssh://-u@host/session", "user"],
  ])("refuses %s, naming the %s", (uri, part) => {
    const err = (() => {
      try {
        parseLibvirtUri(uri);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UriError);
    expect((err as UriError).part).toBe(part);
    expect((err as Error).message).toContain(JSON.stringify(uri));
  });
});

describe("the connection against a real libvirtd", () => {
  let c: LibvirtConnection;
  beforeAll(async () => {
    await ensureLibvirtDaemon();
    c = await LibvirtConnection.open("qemu:///session");
  }, 90_000);
  afterAll(async () => {
    await c?.close();
  });

  it("defines and undefines a domain, seeing both lifecycle events, and maps a missing domain to NOT_FOUND", async () => {
    const name = `dp-rpc-${process.pid}`;
    const events = await c.lifecycleEvents();
    const xml = `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>`;
    const { dom } = await c.call(proc.domainDefineXmlFlags, { xml, flags: 0 });
    try {
      const seen: number[] = [];
      for await (const e of events) {
        if (e.domain !== name) continue;
        seen.push(e.event);
        if (seen.length === 1) await c.call(proc.domainUndefineFlags, { dom, flags: 0 });
        if (seen.length === 2) break;
      }
      expect(seen).toEqual([0, 1]);
      const gone = await c.call(proc.domainLookupByName, { name }).catch((e: unknown) => e);
      expect(statusOf(gone)).toBe(Code.NOT_FOUND);
    } finally {
      await c.call(proc.domainUndefineFlags, { dom, flags: 0 }).catch(() => undefined);
    }
  });

  it("answers many calls in flight on one connection, each with its own reply", async () => {
    const names = Array.from({ length: 50 }, (_, i) => `dp-missing-${i}`);
    const results = await Promise.all(
      names.map((name) => c.call(proc.domainLookupByName, { name }).catch((e: LibvirtError) => e.message)),
    );
    results.forEach((message, i) => expect(message).toContain(`'${names[i]}'`));
    expect(MessageType.REPLY).toBe(1);
  });
});
