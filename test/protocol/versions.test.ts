// App protocol version lists and negotiation.
import { describe, expect, it } from "vitest";
import {
  negotiateVersion,
  parseVersionList,
  PROTOCOL_VERSIONS,
  VersionMismatchError,
} from "../../src/protocol/versions.js";

describe("protocol versions", () => {
  it("this release speaks version 1", () => {
    expect(PROTOCOL_VERSIONS).toEqual([1]);
  });

  it("parses comma lists, tolerating blanks and spaces", () => {
    expect(parseVersionList("1,2")).toEqual([1, 2]);
    expect(parseVersionList(" 3 , 1,")).toEqual([3, 1]);
    expect(parseVersionList("")).toEqual([]);
  });

  it("refuses an entry that is not a positive integer, naming it", () => {
    expect(() => parseVersionList("1,two")).toThrow('invalid protocol version "two" in "1,two"');
    expect(() => parseVersionList("0")).toThrow('invalid protocol version "0"');
    expect(() => parseVersionList("-1")).toThrow('invalid protocol version "-1"');
  });

  it("picks the highest version both sides speak", () => {
    expect(negotiateVersion([1, 2, 3], [2, 3, 4])).toBe(3);
    expect(negotiateVersion([1], [5, 1])).toBe(1);
  });

  it("fails naming both lists when nothing is common", () => {
    const attempt = () => negotiateVersion([1], [2, 3]);
    expect(attempt).toThrow(VersionMismatchError);
    expect(attempt).toThrow("this side speaks [1], the other side offers [2, 3]");
    expect(() => negotiateVersion([1], [])).toThrow("the other side offers none");
  });
});
