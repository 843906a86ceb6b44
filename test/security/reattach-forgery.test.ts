// Reattach records that lie: one naming a 0700 directory that mimics
// ~/.gnupg (key file and a 0600 socket someone else's process serves) with an
// unrelated pid, the same with the pid of the process serving that socket,
// and a genuine record of a SIGKILLed plugin whose pid now belongs to another
// process. reattach() refuses a pid that does not hold the record's socket;
// close() signals only that process and removes only what driverplug made,
// never the directory's other files.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmod, mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClientError, launch, reattach, silentLogger } from "../../src/host/index.js";
import { makeHostTestEnv, processExists, type HostTestEnv } from "../host/host-test-env.js";
import { Figures } from "./figures.js";

const figures = new Figures("reattach-forgery");
afterAll(() => figures.print());

let env: HostTestEnv;
const children: ChildProcess[] = [];
beforeEach(async () => {
  env = await makeHostTestEnv();
});
afterEach(async () => {
  for (const c of children.splice(0)) {
    c.kill("SIGKILL");
    if (c.exitCode === null && c.signalCode === null) await once(c, "exit");
  }
  await env.cleanup();
});

async function bystander(): Promise<ChildProcess> {
  const c = spawn("sleep", ["120"], { stdio: "ignore" });
  children.push(c);
  await once(c, "spawn");
  return c;
}

/** A process of this user that serves a plain Unix socket at `path` (0600): not a plugin. */
async function decoy(path: string): Promise<ChildProcess> {
  const code = `
    const net = require("node:net"); const fs = require("node:fs");
    const server = net.createServer((s) => s.destroy());
    server.listen(${JSON.stringify(path)}, () => { fs.chmodSync(${JSON.stringify(path)}, 0o600); console.log("ready"); });
  `;
  const c = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(c);
  await once(c.stdout!, "data");
  return c;
}

/** A directory like ~/.gnupg: 0700, a private key, and an agent socket. */
async function gnupgLike(): Promise<{ dir: string; socket: string }> {
  const dir = join(env.root, "gnupg");
  await mkdir(dir, { mode: 0o700 });
  await chmod(dir, 0o700);
  await writeFile(join(dir, "private-keys-v1.key"), "secret\n", { mode: 0o600 });
  return { dir, socket: join(dir, "S.gpg-agent") };
}

const recordFor = (pid: number, dir: string, socket: string) => ({
  format: 1,
  driver: "fake",
  pid,
  address: socket,
  appVersion: 1,
  privateDir: dir,
});

describe("a forged reattach record", () => {
  it("naming an unrelated pid is refused: the pid lives, the directory is untouched", async () => {
    figures.add("cases");
    const { dir, socket } = await gnupgLike();
    await decoy(socket);
    const victim = await bystander();
    const err = await reattach(recordFor(victim.pid!, dir, socket), { graceMs: 200, termGraceMs: 200 }).then(
      async (handle) => {
        await handle.close();
        return new Error("reattach accepted it");
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).message).toContain(`pid ${victim.pid} does not hold the listening socket ${socket}`);
    expect(processExists(victim.pid!)).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(["S.gpg-agent", "private-keys-v1.key"]);
    figures.add("refused");
  });

  it("naming the socket's own server: close() leaves the directory and its files alone", async () => {
    figures.add("cases");
    const { dir, socket } = await gnupgLike();
    const server = await decoy(socket);
    const handle = await reattach(recordFor(server.pid!, dir, socket), { graceMs: 200, termGraceMs: 2000 });
    await handle.close();
    expect((await readdir(dir)).sort()).toContain("private-keys-v1.key");
    figures.add("refused");
  });
});

describe("a genuine record of a plugin that died", () => {
  it("whose pid now belongs to another process is refused, and that process is not signalled", async () => {
    figures.add("cases");
    const plugin = await launch("fake", { socketBaseDir: env.base, logger: silentLogger });
    const record = { ...plugin.record };
    process.kill(plugin.pid, "SIGKILL");
    while (!plugin.gone) await new Promise((r) => setTimeout(r, 20));
    const reused = await bystander();
    const err = await reattach({ ...record, pid: reused.pid }, { graceMs: 200, termGraceMs: 200 }).then(
      async (handle) => {
        await handle.close();
        return new Error("reattach accepted it");
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).message).toContain("does not hold the listening socket");
    expect(processExists(reused.pid!)).toBe(true);
    await plugin.close();
    figures.add("refused");
  });
});
