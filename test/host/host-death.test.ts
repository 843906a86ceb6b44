// A host that dies takes its plugins with it: SIGKILL leaves no plugin
// running, no socket and (once the next host starts) no private dir; SIGTERM
// or SIGINT closes them properly and the host still dies of that signal.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ReattachRecord } from "../../src/host/index.js";
import { entries, makeHostTestEnv, processExists, type HostTestEnv } from "./host-test-env.js";

const HOST_SCRIPT = fileURLToPath(new URL("../fixtures/hosts/host-script.mjs", import.meta.url));

let env: HostTestEnv;
let host: ChildProcess | undefined;
beforeEach(async () => {
  env = await makeHostTestEnv();
});
afterEach(async () => {
  if (host && host.exitCode === null && host.signalCode === null) {
    host.kill("SIGKILL");
    await once(host, "exit");
  }
  await env.cleanup();
});

async function startHost(count: number, command = "launch"): Promise<ReattachRecord[]> {
  host = spawn(process.execPath, [HOST_SCRIPT, command, String(count), env.base], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: host.stdout! });
  const [line] = (await once(lines, "line")) as [string];
  lines.close();
  return JSON.parse(line) as ReattachRecord[];
}

/** A dead host's plugins are not our children: no exit event reaches us, so poll /proc. */
async function allGoneWithin(pids: number[], ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (pids.some(processExists)) {
    if (Date.now() > end) return false;
    await sleep(20);
  }
  return true;
}

describe("host death", () => {
  it("leaves no plugin, socket or private dir when the host is SIGKILLed", async () => {
    const records = await startHost(4);
    expect(records.every((r) => processExists(r.pid))).toBe(true);
    const killedAt = Date.now();
    host!.kill("SIGKILL");
    await once(host!, "exit");
    expect(
      await allGoneWithin(
        records.map((r) => r.pid),
        2000,
      ),
    ).toBe(true);
    console.log(`host SIGKILL: 4 plugins gone after ${Date.now() - killedAt} ms`);
    // Each orphaned plugin removed its socket and the private dir its dead host made.
    expect(await entries(env.base)).toEqual([]);
  });

  it("kills its plugins and removes their dirs synchronously when it calls process.exit", async () => {
    const exited = startHost(3, "exit");
    const records = await exited;
    await once(host!, "exit");
    // The 'exit' handler removed the dirs before the host was gone; the SIGKILLed plugins follow at once.
    expect(await entries(env.base)).toEqual([]);
    expect(
      await allGoneWithin(
        records.map((r) => r.pid),
        2000,
      ),
    ).toBe(true);
  });

  it.each(["SIGTERM", "SIGINT"] as const)(
    "closes its plugins on %s and then dies of that signal itself",
    async (sig) => {
      const records = await startHost(3);
      host!.kill(sig);
      const [code, signal] = (await once(host!, "exit")) as [number | null, NodeJS.Signals | null];
      expect({ code, signal }).toEqual({ code: null, signal: sig });
      // Closed before the host exited: nothing left to wait for.
      expect(records.filter((r) => processExists(r.pid))).toEqual([]);
      expect(await entries(env.base)).toEqual([]);
    },
  );
});
