// One libvirt plugin serving two machines at once (CAPABILITY_MACHINE_INSTANCES,
// one shared connection), and a WatchState that outlives its daemon: libvirtd
// is killed (as a crash) and started again while the stream is open; the
// stream goes on, re-registered for events, and reports the domain destroyed
// from outside afterwards as STOPPED, while the other machine stays RUNNING.
// The daemon killed is a test user's own (over qemu+ssh, remote-host.ts), so
// no other test's daemon is disturbed.
import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Capability, State } from "../../generated/driverplug/driver/v1/driver.js";
import { domainName } from "../../src/drivers/libvirt/domain-name.js";
import { launch, silentLogger, type PluginHandle } from "../../src/host/index.js";
import { requireVmTools, testGuest } from "../guest/test-guest.js";
import { forgetMachine } from "./libvirt-cleanup.js";
import { type RemoteHost, startRemoteHost } from "./remote-host.js";

let guest: string;
let root: string;
let plugin: PluginHandle | undefined;
let remote: RemoteHost;
const MACHINES = ["w1", "w2"];

beforeAll(async () => {
  requireVmTools();
  guest = testGuest().dir;
  remote = await startRemoteHost();
  root = await mkdtemp(join(tmpdir(), "dpw-"));
  await fs.mkdir(join(root, "run"), { mode: 0o700 });
}, 600_000);

afterAll(async () => {
  await plugin?.close();
  for (const m of MACHINES) await forgetMachine(join(root, "s"), m, remote.uri).catch(() => undefined);
  await rm(root, { recursive: true, force: true });
  await remote?.dispose();
}, 120_000);

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // Progress only.
  }
}

describe("one libvirt plugin, two machines, a daemon restart", () => {
  it("serves both machines over one plugin and keeps WatchState going across a libvirtd crash", async () => {
    plugin = await launch("libvirt", { socketBaseDir: join(root, "run"), logger: silentLogger });
    const p = plugin;
    expect((await p.client.getInfo({})).capabilities).toContain(Capability.CAPABILITY_MACHINE_INSTANCES);
    const clients = MACHINES.map((m) => p.forMachine(m));
    for (const [i, m] of MACHINES.entries()) {
      const storePath = join(root, "s", "machines", m);
      await fs.mkdir(storePath, { recursive: true });
      const config = {
        machineName: m,
        storePath,
        uri: remote.uri,
        bundlePath: guest,
        cpus: 1,
        memoryMiB: 256,
        bootTimeoutMs: 300_000,
      };
      await clients[i]!.setConfig({ configJson: Buffer.from(JSON.stringify(config)) });
    }
    await Promise.all(clients.map((c) => drain(c.create({}))));
    // Both boot at once on the one plugin.
    await Promise.all(clients.map((c) => drain(c.start({}))));
    for (const c of clients) expect((await c.getState({})).state).toBe(State.STATE_RUNNING);

    const ac = new AbortController();
    const seen: State[] = [];
    const watch = (async () => {
      for await (const m of clients[0]!.watchState({}, { signal: ac.signal })) {
        seen.push(m.state);
        if (m.state === State.STATE_STOPPED) return;
      }
    })();
    // A failure is seen through the race below; the stream ending with the test must not be an unhandled rejection.
    watch.catch(() => undefined);
    while (seen.length === 0) await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual([State.STATE_RUNNING]);

    await remote.restartDaemon();
    // The guests kept running without their daemon; the new one finds them.
    expect((await clients[1]!.getState({})).state).toBe(State.STATE_RUNNING);

    // From outside: virsh as the remote user, on its own daemon.
    const domain = domainName("w1", join(root, "s", "machines", "w1"));
    const asUser = ["--reuid", String(remote.uid), "--regid", String(remote.gid), "--clear-groups"];
    execFileSync(
      "setpriv",
      [...asUser, "env", `HOME=${remote.home}`, "virsh", "-c", "qemu:///session", "destroy", domain],
      {
        stdio: "ignore",
      },
    );
    await Promise.race([
      watch,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`WatchState saw only ${JSON.stringify(seen)} in 120 s`)), 120_000),
      ),
    ]);
    ac.abort();
    expect(seen[0]).toBe(State.STATE_RUNNING);
    expect(seen.at(-1)).toBe(State.STATE_STOPPED);
    expect((await clients[1]!.getState({})).state).toBe(State.STATE_RUNNING);

    await clients[1]!.stop({});
    for (const c of clients) {
      expect((await c.getState({})).state).toBe(State.STATE_STOPPED);
      await c.remove({});
    }
    for (const m of MACHINES) expect(await forgetMachine(join(root, "s"), m, remote.uri)).toBe(false);
  }, 900_000);
});
