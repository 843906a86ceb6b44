// Socket names and the 103-byte path limit.
import { describe, expect, it } from "vitest";
import {
  assertSocketPathFits,
  MAX_SOCKET_PATH_BYTES,
  parseSocketName,
  SocketPathError,
  uniqueSocketName,
  unixAddress,
} from "../../src/socket/socket-path.js";
import { resolveSocketGroup } from "../../src/socket/socket-group.js";
import { resolveSocketDir } from "../../src/socket/resolve-dir.js";
import { tmpdir } from "node:os";

describe("socket paths", () => {
  it("accepts exactly 103 bytes and refuses 104 with a fix", () => {
    const fits = `/${"a".repeat(MAX_SOCKET_PATH_BYTES - 1)}`;
    expect(() => assertSocketPathFits(fits)).not.toThrow();
    expect(() => assertSocketPathFits(`${fits}b`)).toThrow(SocketPathError);
    expect(() => assertSocketPathFits(`${fits}b`)).toThrow("104 bytes, over the 103-byte limit");
    expect(() => assertSocketPathFits(`${fits}b`)).toThrow("use a shorter socket directory");
  });

  it("counts bytes, not characters", () => {
    const path = `/${"é".repeat(52)}`; // 53 characters, 105 bytes
    expect(() => assertSocketPathFits(path)).toThrow("105 bytes");
  });

  it("refuses relative paths", () => {
    expect(() => assertSocketPathFits("x.sock")).toThrow("relative");
  });

  it("makes <driver>-<pid>-<8 hex>.sock names, unique per call, that parse back", () => {
    const a = uniqueSocketName("fake", 1234);
    const b = uniqueSocketName("fake", 1234);
    expect(a).toMatch(/^fake-1234-[0-9a-f]{8}\.sock$/);
    expect(a).not.toBe(b);
    expect(parseSocketName(a)).toEqual({ driver: "fake", pid: 1234 });
    expect(parseSocketName("plugin.sock")).toBeUndefined();
    expect(parseSocketName("fake-1-xyz.sock")).toBeUndefined();
  });

  it("refuses driver names that could escape the directory", () => {
    expect(() => uniqueSocketName("../x")).toThrow("invalid driver name");
    expect(() => uniqueSocketName("Fake")).toThrow("invalid driver name");
  });

  it("builds unix: addresses from absolute paths only", () => {
    expect(unixAddress("/run/x.sock")).toBe("unix:/run/x.sock");
  });
});

describe("socket directory resolution order", () => {
  it("prefers PLUGIN_UNIX_SOCKET_DIR (must exist), then MACHINE_PLUGIN_SOCKET_DIR, XDG_RUNTIME_DIR, tmpdir", () => {
    const all = { PLUGIN_UNIX_SOCKET_DIR: "/p", MACHINE_PLUGIN_SOCKET_DIR: "/m", XDG_RUNTIME_DIR: "/x" };
    expect(resolveSocketDir(all)).toEqual({ dir: "/p", source: "PLUGIN_UNIX_SOCKET_DIR", create: false });
    expect(resolveSocketDir({ ...all, PLUGIN_UNIX_SOCKET_DIR: "" })).toEqual({
      dir: "/m",
      source: "MACHINE_PLUGIN_SOCKET_DIR",
      create: true,
    });
    expect(resolveSocketDir({ XDG_RUNTIME_DIR: "/x" })).toEqual({
      dir: "/x/driverplug",
      source: "XDG_RUNTIME_DIR",
      create: true,
    });
    expect(resolveSocketDir({}).dir).toBe(`${tmpdir()}/driverplug-${process.geteuid!()}`);
  });

  it("refuses a relative directory variable, naming it", () => {
    expect(() => resolveSocketDir({ MACHINE_PLUGIN_SOCKET_DIR: "rel" })).toThrow(
      'MACHINE_PLUGIN_SOCKET_DIR="rel" is not an absolute path',
    );
  });
});

describe("socket group", () => {
  it("reads a numeric gid or a group name from /etc/group", () => {
    expect(resolveSocketGroup("65534")).toBe(65534);
    expect(resolveSocketGroup("root")).toBe(0);
  });

  it("refuses an unknown group name with a fix", () => {
    expect(() => resolveSocketGroup("no-such-group-here")).toThrow(
      "is not in /etc/group; give an existing group name or a numeric gid",
    );
  });
});
