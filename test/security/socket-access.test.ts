// Who can reach a plugin's socket: no other local user, by any path (the
// socket file, a symlink they make, /proc/<pid>/root, /proc/<pid>/fd), even
// when the directory around it is opened up by mistake (the socket is 0600
// itself); and no plugin listens on TCP, UDP or an abstract socket.
import { chmod, mkdir, rm, stat } from "node:fs/promises";
import { connect } from "node:net";
import { basename, join } from "node:path";
import type { DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { launch, silentLogger, type PluginHandle } from "../../src/host/index.js";
import { pluginEnv, removeDir, shortTempDir, spawnPlugin, type RunningPlugin } from "../plugin/spawn-plugin.js";
import { Figures } from "./figures.js";
import { connectAsOtherUser, OTHER_UID } from "./other-user.js";
import { internetSocketInodes, listeningFd, socketInodes, unixSockets } from "./proc-sockets.js";

const figures = new Figures("socket-access");
afterAll(() => figures.print());

let root: string;
let plugin: RunningPlugin | undefined;
let handle: PluginHandle<typeof DriverServiceService> | undefined;
const links: string[] = [];

beforeEach(async () => {
  root = await shortTempDir();
});
afterEach(async () => {
  await plugin?.close();
  plugin = undefined;
  await handle?.close();
  handle = undefined;
  for (const l of links.splice(0)) await rm(l, { force: true });
  await removeDir(root);
});

async function startPlugin(): Promise<RunningPlugin> {
  const dir = join(root, "p");
  await mkdir(dir, { mode: 0o700 });
  plugin = await spawnPlugin({ env: pluginEnv({ PLUGIN_UNIX_SOCKET_DIR: dir }) });
  return plugin;
}

/** One attempt by uid 65534; every attempt must be refused with EACCES. */
async function expectOtherUserRefused(path: string, symlinkAt?: string): Promise<void> {
  if (symlinkAt) links.push(symlinkAt);
  const { result } = await connectAsOtherUser(path, symlinkAt);
  figures.add("attempts");
  if (result === "EACCES") figures.add("refused");
  expect(result).toBe("EACCES");
}

describe("another local user", () => {
  it("cannot connect to the socket file itself", async () => {
    const p = await startPlugin();
    expect((await stat(p.socketPath)).mode & 0o777).toBe(0o600);
    await expectOtherUserRefused(p.socketPath);
  });

  it("cannot connect through a symlink it makes in /tmp", async () => {
    const p = await startPlugin();
    await expectOtherUserRefused(p.socketPath, join("/tmp", `dp-link-${process.pid}-${Date.now()}`));
  });

  it("cannot connect through /proc/<pid>/root, /proc/<pid>/cwd or /proc/<pid>/fd", async () => {
    const p = await startPlugin();
    const pid = p.child.pid!;
    await expectOtherUserRefused(`/proc/${pid}/root${p.socketPath}`);
    await expectOtherUserRefused(`/proc/${pid}/cwd/../../..${p.socketPath}`);
    const fd = listeningFd(pid, p.socketPath);
    expect(fd).toBeDefined();
    await expectOtherUserRefused(`/proc/${pid}/fd/${fd}`);
  });

  it("cannot connect even when the private directory is opened up by mistake: the socket is 0600", async () => {
    const p = await startPlugin();
    await chmod(join(root, "p"), 0o755);
    await chmod(root, 0o755);
    await expectOtherUserRefused(p.socketPath);
  });

  it("cannot connect to a plugin launched by a host, whose private dir sits under the host's base dir", async () => {
    handle = await launch("fake", { socketBaseDir: join(root, "b"), logger: silentLogger });
    await expectOtherUserRefused(handle.record.address);
    await expectOtherUserRefused(handle.record.address, join("/tmp", `dp-link-${process.pid}-${Date.now()}`));
    await expectOtherUserRefused(`/proc/${handle.pid}/root${handle.record.address}`);
  });

  it("is really another user: the same probe as root connects", async () => {
    // Guards the tests above against passing for the wrong reason (a broken probe).
    const p = await startPlugin();
    const result = await new Promise<string>((resolve) => {
      const s = connect(p.socketPath);
      s.once("connect", () => (s.destroy(), resolve("connected")));
      s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    expect(result).toBe("connected");
    expect(OTHER_UID).not.toBe(process.geteuid?.());
  });
});

describe("listening sockets", () => {
  it("a plugin listens only on its one unix socket path: no TCP, UDP or abstract socket", async () => {
    const p = await startPlugin();
    const pid = p.child.pid!;
    const mine = socketInodes(pid);
    expect(mine.size).toBeGreaterThan(0);
    const inet = internetSocketInodes();
    const unix = unixSockets();
    const onInternet = [...mine].filter((i) => inet.has(i));
    const abstract = [...mine].filter((i) => unix.get(i)?.path.startsWith("@"));
    const listening = [...mine].map((i) => unix.get(i)).filter((e) => e?.listening);
    figures.add("socketsInspected", mine.size);
    figures.set("tcpOrUdpListeners", onInternet.length);
    figures.set("abstractSockets", abstract.length);
    expect(onInternet).toEqual([]);
    expect(abstract).toEqual([]);
    // The path the kernel recorded may be the /proc/self/fd/<dir fd>/<name> the plugin bound through.
    expect(listening.map((e) => basename(e!.path))).toEqual([basename(p.socketPath)]);
  });

  it("a plugin launched by the host, after serving calls, still listens on nothing but its socket", async () => {
    const h = await launch("fake", { socketBaseDir: join(root, "b"), logger: silentLogger });
    handle = h;
    await h.client.getInfo({});
    const mine = socketInodes(h.pid);
    const inet = internetSocketInodes();
    const unix = unixSockets();
    figures.add("socketsInspected", mine.size);
    expect([...mine].filter((i) => inet.has(i))).toEqual([]);
    expect([...mine].filter((i) => unix.get(i)?.path.startsWith("@"))).toEqual([]);
    expect(
      [...mine]
        .map((i) => unix.get(i))
        .filter((e) => e?.listening)
        .map((e) => basename(e!.path)),
    ).toEqual([basename(h.record.address)]);
  });
});
