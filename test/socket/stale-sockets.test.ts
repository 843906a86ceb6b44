// Stale socket reclaim and the socket file check, against real sockets.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { chmod, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkSocketFile, SocketFileError } from "../../src/socket/socket-file.js";
import { reclaimStaleSockets } from "../../src/socket/stale-sockets.js";

let base: string;
const servers: Server[] = [];

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "dp-"));
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await rm(base, { recursive: true, force: true });
});

async function listen(path: string): Promise<void> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
}

/** A socket whose listener died without unlinking it: a SIGKILLed child's. */
async function deadSocket(path: string): Promise<void> {
  const child = spawn(
    process.execPath,
    ["-e", `require("net").createServer().listen(${JSON.stringify(path)}, () => console.log("up"))`],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise((resolve) => child.stdout.once("data", resolve));
  const gone = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await gone;
}

describe("reclaimStaleSockets", () => {
  it("removes a dead plugin's socket and keeps a live one", async () => {
    const dead = join(base, "fake-11-aaaaaaaa.sock");
    const live = join(base, "fake-12-bbbbbbbb.sock");
    await deadSocket(dead);
    await listen(live);
    const result = await reclaimStaleSockets(base, process.geteuid!());
    expect(result).toEqual({ removed: [dead] });
    expect(await readdir(base)).toEqual(["fake-12-bbbbbbbb.sock"]);
  });

  it("never touches files whose names are not ours, non-sockets, or sockets of another uid", async () => {
    await deadSocket(join(base, "plugin.sock"));
    await writeFile(join(base, "fake-13-cccccccc.sock"), "a file");
    await deadSocket(join(base, "fake-14-dddddddd.sock"));
    const result = await reclaimStaleSockets(base, 65534);
    expect(result).toEqual({ removed: [] });
    expect((await readdir(base)).sort()).toEqual(["fake-13-cccccccc.sock", "fake-14-dddddddd.sock", "plugin.sock"]);
  });
});

describe("checkSocketFile", () => {
  const uid = process.geteuid!();

  it("accepts this user's 0600 socket", async () => {
    const path = join(base, "s.sock");
    await listen(path);
    await chmod(path, 0o600);
    await expect(checkSocketFile(path, { uid })).resolves.toBeUndefined();
  });

  it("refuses a socket others can connect to, a wrong owner, a regular file, a symlink and a missing file", async () => {
    const path = join(base, "s.sock");
    await listen(path);
    await chmod(path, 0o666);
    await expect(checkSocketFile(path, { uid })).rejects.toThrow("has mode 0666, which lets other users connect");
    await chmod(path, 0o600);
    await expect(checkSocketFile(path, { uid: 65534 })).rejects.toThrow(`owned by uid ${uid}, expected uid 65534`);
    const file = join(base, "f");
    await writeFile(file, "");
    await expect(checkSocketFile(file, { uid })).rejects.toThrow("is not a socket (a regular file)");
    const link = join(base, "l");
    await symlink(path, link);
    await expect(checkSocketFile(link, { uid })).rejects.toThrow(SocketFileError);
    await expect(checkSocketFile(join(base, "none"), { uid })).rejects.toThrow("does not exist");
  });
});
