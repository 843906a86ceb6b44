// Warm plugins through the real CLI: a driver's plugin left running after a
// command is reused by the next one (no new process), ends by itself after
// its idle period with no CLI left, is never reused once its executable
// changed or its record is stale, forged or someone else's (and a forged
// record's pid is never signalled), and `driverplug plugins [stop]` shows and
// ends it. Machine locks hold across reuse; two CLIs at once share or race it.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { expectOk, isAlive, Sandbox, type Running } from "./driverplug-process.js";

const WARM = { DRIVERPLUG_WARM: "60" };

interface WarmRow {
  driver: string;
  pid: number;
  socket: string;
  idleLeftS: number;
  idleS: number;
}

let box: Sandbox;
/** Processes a test started or left (plugins it made un-warm): killed after it. */
const leftovers: number[] = [];
const running: Running[] = [];
const others: ChildProcess[] = [];

beforeEach(async () => {
  box = await Sandbox.create();
  await expectOk(box, ["create", "--driver", "fake", "m1"], { DRIVERPLUG_WARM: "0" });
});

afterEach(async () => {
  for (const r of running.splice(0)) {
    r.child.kill("SIGKILL");
    await r.done;
  }
  await box.run(["plugins", "stop"]);
  for (const pid of leftovers.splice(0)) if (isAlive(pid)) process.kill(pid, "SIGKILL");
  for (const c of others.splice(0)) {
    c.kill("SIGKILL");
    if (c.exitCode === null && c.signalCode === null) await once(c, "exit");
  }
  await box.dispose();
});

async function warmPlugins(): Promise<WarmRow[]> {
  const r = await expectOk(box, ["plugins", "--json"]);
  return JSON.parse(r.stdout) as WarmRow[];
}

async function onlyWarm(): Promise<WarmRow> {
  const rows = await warmPlugins();
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

async function status(extra: Record<string, string> = WARM): Promise<void> {
  const r = await expectOk(box, ["status", "m1"], extra);
  expect(r.stdout).toBe("Stopped\n");
}

async function waitGone(pid: number, budgetMs: number): Promise<boolean> {
  const end = Date.now() + budgetMs;
  while (isAlive(pid) && !isZombie(pid)) {
    if (Date.now() > end) return false;
    await sleep(100);
  }
  return true;
}

function isZombie(pid: number): boolean {
  try {
    return /\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

function recordPath(driver = "fake"): string {
  return join(box.store, "plugins", `${driver}.json`);
}

describe("warm plugins", () => {
  it("leave the plugin running after a command, and the next command reconnects instead of launching", async () => {
    await status();
    const first = await onlyWarm();
    expect(first.driver).toBe("fake");
    // The CLI is gone; its plugin is not.
    expect(isAlive(first.pid)).toBe(true);
    await status();
    await expectOk(box, ["start", "m1"], WARM);
    const after = await onlyWarm();
    expect(after.pid).toBe(first.pid);
    expect(after.socket).toBe(first.socket);
    // One plugin's private dir under the socket base dir: nothing else was launched.
    expect(await box.pluginDirs()).toHaveLength(1);
    const text = await expectOk(box, ["plugins"]);
    expect(text.stdout).toMatch(
      new RegExp(`^DRIVER +PID +IDLE EXIT IN +SOCKET\\nfake +${first.pid} +about \\d+ s +\\S+\\.sock\\n$`),
    );
  });

  it("end by themselves after the idle period with no CLI left, leaving no socket or directory", async () => {
    await status({ DRIVERPLUG_WARM: "3" });
    const { pid, idleS } = await onlyWarm();
    expect(idleS).toBe(3);
    expect(isAlive(pid)).toBe(true);
    // A generous budget for a loaded machine; the order is what counts: alive after the CLI, then gone by itself.
    expect(await waitGone(pid, 60_000)).toBe(true);
    expect(await box.pluginDirs()).toEqual([]);
    expect(await warmPlugins()).toEqual([]);
    // The stale record does not stop the next command: it starts a fresh plugin.
    await status();
    expect((await onlyWarm()).pid).not.toBe(pid);
  });

  it("are never reused once the plugin's executable was replaced", async () => {
    const dir = await box.installPlugin("warmfake", join(process.cwd(), "bin", "driverplug-driver-fake"));
    const env = { ...WARM, DRIVERPLUG_PLUGIN_DIRS: dir };
    await expectOk(box, ["create", "--driver", "warmfake", "w1"], env);
    const first = (await warmPlugins()).find((r) => r.driver === "warmfake")!;
    expect(first).toBeDefined();
    leftovers.push(first.pid);
    // An upgrade: the same path, a new file.
    const exe = join(dir, "driverplug-driver-warmfake");
    await writeFile(exe, `${await readFile(exe, "utf8")}# upgraded\n`, { mode: 0o755 });
    expect((await expectOk(box, ["status", "w1"], env)).stdout).toBe("Stopped\n");
    const second = (await warmPlugins()).find((r) => r.driver === "warmfake")!;
    expect(second.pid).not.toBe(first.pid);
    leftovers.push(second.pid);
  });

  it("refuse a record whose pid does not hold the socket, and never signal that pid", async () => {
    await status();
    const real = await onlyWarm();
    leftovers.push(real.pid);
    // A process of ours that is not the plugin: a forged record names it.
    const victim = spawn("sleep", ["600"], { stdio: "ignore" });
    others.push(victim);
    const record = JSON.parse(await readFile(recordPath(), "utf8"));
    record.reattach.pid = victim.pid;
    await writeFile(recordPath(), JSON.stringify(record), { mode: 0o600 });
    expect(await warmPlugins()).toEqual([]);
    await status();
    const fresh = await onlyWarm();
    expect([real.pid, victim.pid]).not.toContain(fresh.pid);
    // Forge it again for `plugins stop`: refused too, and the victim lives on.
    const again = JSON.parse(await readFile(recordPath(), "utf8"));
    leftovers.push(again.reattach.pid);
    again.reattach.pid = victim.pid;
    await writeFile(recordPath(), JSON.stringify(again), { mode: 0o600 });
    const stop = JSON.parse((await expectOk(box, ["plugins", "stop", "--json"])).stdout);
    expect(stop).toEqual({ stopped: [] });
    expect(victim.exitCode).toBe(null);
    expect(victim.signalCode).toBe(null);
    expect(isAlive(victim.pid!)).toBe(true);
  });

  it("refuse a record others can write, and one pointing at a socket nobody of driverplug made", async () => {
    await status();
    const real = await onlyWarm();
    leftovers.push(real.pid);
    await chmod(recordPath(), 0o666);
    await status();
    // Not trusted, so a fresh plugin took its place.
    const fresh = await onlyWarm();
    expect(fresh.pid).not.toBe(real.pid);
    leftovers.push(fresh.pid);
    // A socket outside any private dir, held by this test process.
    const server: Server = createServer();
    const sock = join(box.root, "evil.sock");
    server.listen(sock);
    await once(server, "listening");
    try {
      const record = JSON.parse(await readFile(recordPath(), "utf8"));
      record.reattach.address = sock;
      record.reattach.pid = process.pid;
      await writeFile(recordPath(), JSON.stringify(record), { mode: 0o600 });
      await status();
      expect((await onlyWarm()).pid).not.toBe(process.pid);
    } finally {
      server.close();
    }
  });

  it("killed between two commands: the next command launches a fresh one and succeeds", async () => {
    await status();
    const first = await onlyWarm();
    process.kill(first.pid, "SIGKILL");
    expect(await waitGone(first.pid, 30_000)).toBe(true);
    await status();
    const second = await onlyWarm();
    expect(second.pid).not.toBe(first.pid);
    expect(isAlive(second.pid)).toBe(true);
  });

  it("two CLIs racing share one warm plugin or each start one, and both succeed", async () => {
    const [a, b] = await Promise.all([box.run(["status", "m1"], WARM), box.run(["status", "m1"], WARM)]);
    expect([a.code, b.code], `${a.stderr}${b.stderr}`).toEqual([0, 0]);
    expect([a.stdout, b.stdout]).toEqual(["Stopped\n", "Stopped\n"]);
    const warm = await onlyWarm();
    // Then four at once on the warm plugin: all answered by it.
    const runs = await Promise.all([0, 1, 2, 3].map(() => box.run(["status", "m1"], WARM)));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect((await onlyWarm()).pid).toBe(warm.pid);
    expect(await box.pluginDirs()).toHaveLength(1);
  });

  it("keep machine locks: a second mutating command waits for the first on the same warm plugin", async () => {
    // Slow enough (a minute per step, the fake's most) to outlast the checks on a loaded machine; Ctrl-C ends it.
    await expectOk(box, ["config", "set", "m1", "stepDelayMs", "60000"], WARM);
    const warm = await onlyWarm();
    const start = box.start(["start", "m1"], WARM);
    running.push(start);
    await start.waitForStderr(/\[ 25%\]/);
    const busy = await box.run(["stop", "m1", "--lock-timeout", "0.3"], WARM);
    expect(busy.code).toBe(4);
    expect(busy.stderr).toMatch(/machine "m1" is busy: process \d+ \("driverplug start m1"/);
    // A query takes no lock, and does not wait behind the start: with the machine busy it gets a plugin of its own.
    expect((await expectOk(box, ["status", "m1"], WARM)).stdout).toMatch(/^(Stopped|Starting|Running)\n$/);
    // Nor does `ls`: the busy machine is asked apart from the warm plugin's batch, and shows its state.
    const listed = JSON.parse((await expectOk(box, ["ls", "--json"], WARM)).stdout) as {
      name: string;
      state: string;
    }[];
    expect(listed.find((row) => row.name === "m1")?.state).toMatch(/^(Stopped|Starting|Running)$/);
    expect(start.child.exitCode).toBe(null);
    start.child.kill("SIGINT");
    expect((await start.done).code).toBe(130);
    // Ctrl-C ended the command, not the warm plugin; the lock is released.
    expect((await onlyWarm()).pid).toBe(warm.pid);
    expect(await box.locks()).toEqual([]);
  }, 300_000);

  it("`plugins stop` ends them now (all, or one driver's), with --json", async () => {
    await status();
    const warm = await onlyWarm();
    const none = JSON.parse((await expectOk(box, ["plugins", "stop", "qemu", "--json"])).stdout);
    expect(none).toEqual({ stopped: [] });
    expect(isAlive(warm.pid)).toBe(true);
    const stopped = JSON.parse((await expectOk(box, ["plugins", "stop", "fake", "--json"])).stdout);
    expect(stopped).toEqual({ stopped: [{ driver: "fake", pid: warm.pid }] });
    expect(await waitGone(warm.pid, 30_000)).toBe(true);
    expect(await box.pluginDirs()).toEqual([]);
    expect((await expectOk(box, ["plugins"])).stdout).toBe("No warm plugins.\n");
    await status();
    const next = await onlyWarm();
    const text = await expectOk(box, ["plugins", "stop"]);
    expect(text.stdout).toBe(`Stopped the warm plugin of driver fake (pid ${next.pid}).\n`);
    const bad = await box.run(["plugins", "stop", "../x"]);
    expect(bad.code).toBe(2);
  });

  it("are off with --warm 0 or DRIVERPLUG_WARM=0: nothing is left after the command", async () => {
    await status({ DRIVERPLUG_WARM: "0" });
    await expectOk(box, ["--warm", "0", "status", "m1"], WARM);
    expect(await warmPlugins()).toEqual([]);
    expect(await box.pluginDirs()).toEqual([]);
    const bad = await box.run(["status", "m1"], { DRIVERPLUG_WARM: "soon" });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/DRIVERPLUG_WARM is "soon": give how many seconds/);
  });
});
