// Attacks on the directory a plugin's socket goes in, from the plugin's side:
// every unsafe directory (for each of the three ways a plugin is told where
// to go) is refused with a message saying what was found and nothing is
// created; a directory swapped for a symlink between the check and the bind
// is caught by the re-check after bind, deterministically (an attacker inside
// bindAsync) and in a bounded race against a swap loop; a file or live socket
// planted at the exact socket path is never removed or hijacked.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmod, chown, lstat, mkdir, readdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { connect, createServer, type Server as NetServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { basename, dirname, join } from "node:path";
import { Server, type ServerCredentials } from "@grpc/grpc-js";
import { ServerCredentials as Creds } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/plugin/logger.js";
import { listenOnPrivateSocket } from "../../src/plugin/socket-listener.js";
import { pluginEnv, removeDir, runToExit, shortTempDir, spawnPlugin } from "../plugin/spawn-plugin.js";
import { Figures } from "./figures.js";
import { OTHER_UID } from "./other-user.js";
import { tree } from "./tree.js";

const figures = new Figures("dir-attacks");
afterAll(() => figures.print());

let root: string;
beforeEach(async () => {
  root = await shortTempDir();
});
afterEach(async () => {
  await removeDir(root);
});

/** Runs the fake plugin with `env`; it must exit 1, print nothing on stdout, say `parts`, and create nothing under root. */
async function expectRefused(env: Record<string, string>, ...parts: string[]): Promise<void> {
  const before = await tree(root);
  const run = await runToExit({ env: pluginEnv(env) });
  figures.add("cases");
  expect(run.code).toBe(1);
  expect(run.stdout).toBe("");
  for (const part of parts) expect(run.stderr).toContain(part);
  expect(await tree(root)).toEqual(before);
  figures.add("refused");
}

async function makeDir(name: string, mode: number, uid?: number): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  await chmod(dir, mode);
  if (uid !== undefined) await chown(dir, uid, uid);
  return dir;
}

const octal = (m: number) => `0${m.toString(8)}`;

// The three ways a plugin learns its directory; XDG_RUNTIME_DIR's is <it>/driverplug.
const SOURCES: Array<{ name: string; env: (dir: string) => Record<string, string> }> = [
  { name: "PLUGIN_UNIX_SOCKET_DIR", env: (dir) => ({ PLUGIN_UNIX_SOCKET_DIR: dir }) },
  { name: "MACHINE_PLUGIN_SOCKET_DIR", env: (dir) => ({ MACHINE_PLUGIN_SOCKET_DIR: dir }) },
  { name: "XDG_RUNTIME_DIR", env: (dir) => ({ XDG_RUNTIME_DIR: dirname(dir) }) },
];

/** The directory the plugin will use for `source`, as `leafName` under root (XDG: root/x/driverplug). */
async function placeFor(source: (typeof SOURCES)[number], leafName: string): Promise<string> {
  if (source.name !== "XDG_RUNTIME_DIR") return join(root, leafName);
  const runtime = join(root, leafName);
  await mkdir(runtime, { mode: 0o700 });
  return join(runtime, "driverplug");
}

describe.each(SOURCES)("a directory given by $name", (source) => {
  for (const mode of [0o777, 0o755, 0o750, 0o711]) {
    it(`is refused with mode ${octal(mode)}, naming the mode and the fix`, async () => {
      const dir = await placeFor(source, `m${octal(mode)}`);
      await mkdir(dir);
      await chmod(dir, mode);
      await expectRefused(source.env(dir), `socket directory ${dir} has mode ${octal(mode)}`, `chmod 0700 ${dir}`);
    });
  }

  for (const mode of [0o700, 0o755]) {
    it(`is refused when another user (uid ${OTHER_UID}) made it first, even with mode ${octal(mode)}`, async () => {
      const dir = await placeFor(source, `u${octal(mode)}`);
      await mkdir(dir);
      await chmod(dir, mode);
      await chown(dir, OTHER_UID, OTHER_UID);
      await expectRefused(source.env(dir), `socket directory ${dir} is owned by uid ${OTHER_UID}`);
    });
  }

  it("is refused when it is a symlink, even to a good private directory, naming the target", async () => {
    const real = await makeDir("real", 0o700);
    const dir = await placeFor(source, "l");
    await symlink(real, dir);
    await expectRefused(source.env(dir), `socket directory ${dir} is a symlink to ${real}`);
  });

  it("is refused when it is a dangling symlink, and the target is not created", async () => {
    const dir = await placeFor(source, "dl");
    await symlink(join(root, "nowhere"), dir);
    await expectRefused(source.env(dir), `socket directory ${dir} is a symlink to ${join(root, "nowhere")}`);
  });

  const nonDirs: Array<[string, (p: string) => Promise<unknown>, string]> = [
    ["a regular file", (p) => writeFile(p, "", { mode: 0o600 }), "a regular file"],
    ["a FIFO", async (p) => expect(spawnSync("mkfifo", [p]).status).toBe(0), "a FIFO"],
  ];
  for (const [what, make, said] of nonDirs) {
    it(`is refused when ${what} is at the path`, async () => {
      const dir = await placeFor(source, "n");
      await make(dir);
      await expectRefused(source.env(dir), `socket directory ${dir} is not a directory (${said})`);
    });
  }
});

describe("ancestors of the socket directory", () => {
  it("refuses an ancestor writable by others without the sticky bit", async () => {
    const open = await makeDir("o", 0o757);
    const dir = join(open, "p");
    await mkdir(dir, { mode: 0o700 });
    await expectRefused({ PLUGIN_UNIX_SOCKET_DIR: dir }, `ancestor ${open}`, "mode 0757", "without the sticky bit");
  });

  it("refuses a group-writable ancestor without the sticky bit", async () => {
    const open = await makeDir("g", 0o770);
    const dir = join(open, "p");
    await mkdir(dir, { mode: 0o700 });
    await expectRefused({ MACHINE_PLUGIN_SOCKET_DIR: dir }, `ancestor ${open}`, "mode 0770");
  });

  it("refuses an ancestor owned by another user, even if only it could write there", async () => {
    const theirs = await makeDir("t", 0o755, OTHER_UID);
    const dir = join(theirs, "p");
    await mkdir(dir, { mode: 0o700 });
    await expectRefused({ PLUGIN_UNIX_SOCKET_DIR: dir }, `ancestor ${theirs}`, `owned by uid ${OTHER_UID}`);
  });

  it("refuses a base dir it would create under a world-writable ancestor, and creates nothing", async () => {
    const open = await makeDir("w", 0o777);
    await expectRefused({ MACHINE_PLUGIN_SOCKET_DIR: join(open, "base") }, `ancestor ${open}`);
  });

  it("checks the real path: a good-looking path through a symlinked ancestor into an open directory is refused", async () => {
    const open = await makeDir("w2", 0o777);
    await mkdir(join(open, "p"), { mode: 0o700 });
    await symlink(open, join(root, "alias"));
    await expectRefused({ PLUGIN_UNIX_SOCKET_DIR: join(root, "alias", "p") }, `ancestor ${open}`);
  });

  it("accepts a world-writable ancestor with the sticky bit (like /tmp)", async () => {
    const sticky = await makeDir("s", 0o1777);
    const dir = join(sticky, "p");
    await mkdir(dir, { mode: 0o700 });
    const plugin = await spawnPlugin({ env: pluginEnv({ PLUGIN_UNIX_SOCKET_DIR: dir }) });
    expect(dirname(plugin.socketPath)).toBe(dir);
    await plugin.close();
  });
});

/** A grpc-js Server whose bindAsync first lets `attack` act on the exact socket path: the window between check and bind. */
function serverAttackedAtBind(attack: (path: string) => Promise<void>): Server {
  return new (class extends Server {
    override bindAsync(
      port: string,
      creds: ServerCredentials,
      callback: (error: Error | null, port: number) => void,
    ): void {
      attack(port.replace(/^unix:/, "")).then(
        () => super.bindAsync(port, creds, callback),
        (err: unknown) => callback(err as Error, 0),
      );
    }
  })();
}

async function listenIn(dir: string, server: Server) {
  return listenOnPrivateSocket(server, {
    driverName: "fake",
    credentials: Creds.createInsecure(),
    env: { PLUGIN_UNIX_SOCKET_DIR: dir },
    log: createLogger("test", () => {}),
    onBound: () => {},
  });
}

describe("the window between the directory check and the bind", () => {
  const servers: Server[] = [];
  const listeners: NetServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) s.forceShutdown();
    for (const l of listeners.splice(0)) await new Promise((r) => l.close(r));
  });

  it("catches the directory swapped for a symlink to another user's directory, and leaves no socket there", async () => {
    const dir = await makeDir("p", 0o700);
    const decoy = await makeDir("decoy", 0o777, OTHER_UID);
    const server = serverAttackedAtBind(async () => {
      await rename(dir, `${dir}.moved`);
      await symlink(decoy, dir);
    });
    servers.push(server);
    figures.add("cases");
    await expect(listenIn(dir, server)).rejects.toThrow(
      `socket directory ${dir} was replaced while the socket was being created`,
    );
    figures.add("refused");
    expect(await readdir(decoy)).toEqual([]);
    expect(await readdir(`${dir}.moved`)).toEqual([]);
  });

  it("never leaves a socket in another user's directory when the swap is undone right after the bind", async () => {
    const dir = await makeDir("p", 0o700);
    const decoy = await makeDir("decoy", 0o777, OTHER_UID);
    const server = new (class extends Server {
      override bindAsync(
        port: string,
        creds: ServerCredentials,
        callback: (error: Error | null, port: number) => void,
      ): void {
        // Swap in the symlink for the bind itself, and put the real directory back before the plugin looks again.
        void (async () => {
          await rename(dir, `${dir}.moved`);
          await symlink(decoy, dir);
          super.bindAsync(port, creds, (err, n) => {
            void (async () => {
              await rm(dir);
              await rename(`${dir}.moved`, dir);
              callback(err, n);
            })();
          });
        })();
      }
    })();
    servers.push(server);
    figures.add("cases");
    const outcome = await listenIn(dir, server).then(
      (l) => `served at ${l.path}`,
      (err: Error) => `refused: ${err.message}`,
    );
    // Either outcome is safe as long as the attacker's directory stays empty.
    expect(await readdir(decoy)).toEqual([]);
    if (outcome.startsWith("refused")) figures.add("refused");
    else expect((await readdir(dir)).length).toBe(1);
  });

  it("catches the directory swapped for another directory of the same user", async () => {
    const dir = await makeDir("p", 0o700);
    const server = serverAttackedAtBind(async () => {
      await rename(dir, `${dir}.moved`);
      await mkdir(dir, { mode: 0o700 });
    });
    servers.push(server);
    figures.add("cases");
    await expect(listenIn(dir, server)).rejects.toThrow("was replaced");
    figures.add("refused");
    expect(await readdir(dir)).toEqual([]);
  });

  it("never removes or hijacks a live socket planted at the exact socket path", async () => {
    const dir = await makeDir("p", 0o700);
    let planted = "";
    const server = serverAttackedAtBind(async (path) => {
      planted = path;
      const l = createServer((c) => c.end("theirs\n"));
      listeners.push(l);
      l.listen(path);
      await once(l, "listening");
    });
    servers.push(server);
    figures.add("cases");
    // The plugin may bind through /proc/self/fd/<dir fd>; the error names the real path.
    await expect(listenIn(dir, server)).rejects.toThrow(`cannot listen on ${join(dir, basename(planted))}`);
    figures.add("refused");
    planted = join(dir, basename(planted));
    expect((await lstat(planted)).isSocket()).toBe(true);
    // Still the planter's socket, still answering.
    const reply = await new Promise<string>((resolve, reject) => {
      const c = connect(planted);
      let text = "";
      c.on("data", (d) => (text += d.toString()));
      c.on("end", () => resolve(text));
      c.on("error", reject);
    });
    expect(reply).toBe("theirs\n");
  });

  it("never removes a regular file planted at the exact socket path", async () => {
    const dir = await makeDir("p", 0o700);
    let planted = "";
    const server = serverAttackedAtBind(async (path) => {
      planted = path;
      await writeFile(path, "keep me", { mode: 0o600 });
    });
    servers.push(server);
    figures.add("cases");
    await expect(listenIn(dir, server)).rejects.toThrow(`cannot listen on ${join(dir, basename(planted))}`);
    figures.add("refused");
    expect(await readdir(dir)).toEqual([basename(planted)]);
  });
});

/**
 * A separate process that swaps `dir` between the real directory and a
 * symlink to `decoy` as fast as it can, until killed: renames are atomic,
 * so the path is always one or the other.
 */
function startSwapper(dir: string, decoy: string, maxMs: number): ChildProcess {
  const code = `
    const end = Date.now() + ${maxMs};
    const { renameSync, symlinkSync } = require("node:fs");
    const dir = ${JSON.stringify(dir)}, held = dir + ".held", link = dir + ".link";
    symlinkSync(${JSON.stringify(decoy)}, link);
    process.stdout.write("ready\\n");
    while (Date.now() < end) {
      renameSync(dir, held); renameSync(link, dir);
      renameSync(dir, link); renameSync(held, dir);
    }
  `;
  return spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
}

/** SIGSTOP, then wait until the kernel reports the process stopped (state T). */
async function freeze(child: ChildProcess): Promise<void> {
  child.kill("SIGSTOP");
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2)[0] === "T") return;
    await sleep(1);
  }
  throw new Error(`swapper ${child.pid} did not stop`);
}

describe("a directory swap racing the plugin", () => {
  // RACE_MS and RACE_N lengthen the race for a deeper local run (default 8 s, 60 attempts).
  it("never gets a plugin to serve from the attacker's directory (bounded swap loop, outcomes counted)", async () => {
    const dir = await makeDir("p", 0o700);
    const decoy = await makeDir("decoy", 0o777, OTHER_UID);
    const { ino } = await lstat(dir);
    const budgetMs = Number(process.env.RACE_MS ?? 8000);
    const swapper = startSwapper(dir, decoy, budgetMs + 10_000);
    await once(swapper.stdout!, "data");
    const outcomes = {
      servedInPlace: 0,
      servedElsewhere: 0,
      refusedAtCheck: 0,
      bindFailed: 0,
      refusedAfterBind: 0,
      otherFailure: 0,
    };
    const maxAttempts = Number(process.env.RACE_N ?? 60);
    const started = Date.now();
    let attempts = 0;
    try {
      while (attempts < maxAttempts && Date.now() - started < budgetMs) {
        attempts++;
        const run = spawnPlugin({ env: pluginEnv({ PLUGIN_UNIX_SOCKET_DIR: dir }), timeoutMs: 5000 });
        const plugin = await run.catch((err: Error) => err);
        if (plugin instanceof Error) {
          if (/was replaced while the socket was being created/.test(plugin.message)) outcomes.refusedAfterBind++;
          else if (/is a symlink|cannot be read|does not exist|ENOENT|not a directory/.test(plugin.message))
            outcomes.refusedAtCheck++;
          else if (/cannot listen on/.test(plugin.message)) outcomes.bindFailed++;
          else {
            outcomes.otherFailure++;
            console.log(`unexpected failure: ${plugin.message}`);
          }
          continue;
        }
        // It served. Freeze the swapper so the tree holds still, then find the checked
        // directory (by inode, wherever the swaps left it): the socket must be in it.
        await freeze(swapper);
        const home = (
          await Promise.all(
            [dir, `${dir}.held`].map(async (d) =>
              (await lstat(d).catch(() => undefined))?.ino === ino ? d : undefined,
            ),
          )
        ).find(Boolean);
        const name = basename(plugin.socketPath);
        const inPlace = home !== undefined && (await readdir(home)).includes(name);
        const inDecoy = (await readdir(decoy)).includes(name);
        if (inPlace && !inDecoy) outcomes.servedInPlace++;
        else {
          outcomes.servedElsewhere++;
          console.log(
            `served from the wrong place: ${plugin.handshakeLine} (checked dir now at ${home}, decoy holds ${await readdir(decoy)})`,
          );
        }
        swapper.kill("SIGCONT");
        await plugin.close();
      }
    } finally {
      swapper.kill("SIGKILL");
      await once(swapper, "exit");
    }
    console.log(`swap race: ${attempts} attempts in ${Date.now() - started} ms: ${JSON.stringify(outcomes)}`);
    figures.add("raceAttempts", attempts);
    figures.add("raceServedElsewhere", outcomes.servedElsewhere);
    figures.add("raceRefusedAfterBind", outcomes.refusedAfterBind);
    expect(outcomes.servedElsewhere).toBe(0);
    expect(outcomes.otherFailure).toBe(0);
    expect(outcomes.refusedAtCheck + outcomes.refusedAfterBind).toBeGreaterThan(0);
    // Nothing left in the attacker's directory by any refused attempt.
    expect(await readdir(decoy)).toEqual([]);
  }, 120_000);
});
