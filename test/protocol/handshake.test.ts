// The handshake line: format/parse round trip, and each refusal says why.
import { describe, expect, it } from "vitest";
import { formatHandshake, HandshakeError, parseHandshake, type Handshake } from "../../src/protocol/handshake.js";

const plain: Handshake = {
  coreVersion: 1,
  appVersion: 1,
  network: "unix",
  address: "/run/p/x.sock",
  protocol: "grpc",
  serverCert: "",
};

describe("handshake line", () => {
  it("formats go-plugin's six fields with an empty certificate field kept", () => {
    expect(formatHandshake(plain)).toBe("1|1|unix|/run/p/x.sock|grpc|");
  });

  it("adds the 7th field only when multiplex is given", () => {
    expect(formatHandshake({ ...plain, multiplex: false })).toBe("1|1|unix|/run/p/x.sock|grpc||false");
  });

  it("round-trips through parse, with and without certificate and multiplex", () => {
    for (const h of [
      plain,
      { ...plain, serverCert: "MIIBabc+/9" },
      { ...plain, multiplex: true },
      { ...plain, appVersion: 7, network: "tcp" as const, address: "127.0.0.1:1234" },
    ]) {
      expect(parseHandshake(formatHandshake(h))).toEqual(h);
    }
  });

  it("accepts a trailing newline (CRLF too)", () => {
    expect(parseHandshake("1|1|unix|/a.sock|grpc|\r\n")).toEqual({ ...plain, address: "/a.sock" });
  });

  const refusals: Array<[string, string, string]> = [
    ["too few fields", "1|1|unix|/a|grpc", "5 fields, expected 6"],
    ["too many fields", "1|1|unix|/a|grpc||true|x", "8 fields"],
    ["a non-numeric core version", "x|1|unix|/a|grpc|", 'core version "x" is not a number'],
    ["another core version", "2|1|unix|/a|grpc|", "core version 2 is not 1"],
    ["app version 0", "1|0|unix|/a|grpc|", 'app version "0" is not a positive number'],
    ["an unknown network", "1|1|udp|/a|grpc|", 'network "udp" is neither'],
    ["an empty address", "1|1|unix||grpc|", "the address is empty"],
    ["an unknown protocol", "1|1|unix|/a|http|", 'protocol "http" is neither'],
    ["a padded certificate", "1|1|unix|/a|grpc|abc=", "not unpadded base64"],
    ["a bad multiplex field", "1|1|unix|/a|grpc||yes", 'multiplex field "yes"'],
    ["garbage", "hello world", "1 fields"],
  ];
  for (const [what, line, message] of refusals) {
    it(`refuses ${what}, quoting the line and the expected form`, () => {
      expect(() => parseHandshake(line)).toThrow(HandshakeError);
      expect(() => parseHandshake(line)).toThrow(message);
      expect(() => parseHandshake(line)).toThrow("CORE|APP|NETWORK|ADDRESS|PROTOCOL|CERT");
    });
  }

  it("refuses an over-long line without echoing all of it", () => {
    const long = `1|1|unix|/${"a".repeat(70_000)}|grpc|`;
    let message = "";
    try {
      parseHandshake(long);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain("longer than 65536 bytes");
    expect(message.length).toBeLessThan(600);
  });
});
