// Group mode: with socketGroup, the plugin's private dir is 0710 and its
// socket 0660 in that group, so members of the group (and only they, besides
// the owner) can connect; the host's checks accept exactly that.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { promises as fs } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { launch, reattach, silentLogger } from "../../src/host/index.js";
import { entries, makeHostTestEnv, type HostTestEnv } from "./host-test-env.js";

const NOBODY = 65534;
const NOGROUP = 65534;

let env: HostTestEnv;
beforeEach(async () => {
  env = await makeHostTestEnv();
  // Let other users traverse the test's root to reach the base dir.
  await fs.chmod(env.root, 0o711);
});
afterEach(async () => {
  await env.cleanup();
});

/** Tries to connect to `path` as uid 65534 with the given gid; resolves "connected" or the error code. */
async function connectAs(gid: number, path: string): Promise<string> {
  const script = `require("net").connect(process.argv[1]).on("connect", () => { console.log("connected"); process.exit(0); }).on("error", (e) => { console.log(e.code); process.exit(0); });`;
  const child = spawn(process.execPath, ["-e", script, path], {
    uid: NOBODY,
    gid,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  await once(child, "exit");
  return out.trim();
}

describe("socket group mode", () => {
  it("lets the group's members connect and keeps other users out", async () => {
    const plugin = await launch("fake", { socketBaseDir: env.base, socketGroup: NOGROUP, logger: silentLogger });
    try {
      const dir = await fs.stat(plugin.record.privateDir);
      expect({ mode: dir.mode & 0o777, gid: dir.gid }).toEqual({ mode: 0o710, gid: NOGROUP });
      const sock = await fs.lstat(plugin.record.address);
      expect({ mode: sock.mode & 0o777, gid: sock.gid }).toEqual({ mode: 0o660, gid: NOGROUP });
      expect(plugin.record.gid).toBe(NOGROUP);
      await expect(plugin.client.getInfo({})).resolves.toMatchObject({ driverName: "fake" });
      expect(await connectAs(NOGROUP, plugin.record.address)).toBe("connected");
      expect(await connectAs(1, plugin.record.address)).toBe("EACCES");
      // A reattach record keeps the group, so the same checks pass again.
      const again = await reattach(JSON.parse(JSON.stringify(plugin.record)));
      await expect(again.client.getInfo({})).resolves.toMatchObject({ driverName: "fake" });
      again.detach();
    } finally {
      await plugin.close();
    }
    expect(await entries(env.base)).toEqual([]);
  });

  it("keeps other users out without group mode", async () => {
    const plugin = await launch("fake", { socketBaseDir: env.base, logger: silentLogger });
    try {
      expect((await fs.lstat(plugin.record.address)).mode & 0o777).toBe(0o600);
      expect(await connectAs(NOGROUP, plugin.record.address)).toBe("EACCES");
    } finally {
      await plugin.close();
    }
  });
});
