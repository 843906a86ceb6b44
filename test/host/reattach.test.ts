// Reattach: a second host process reconnects to a running plugin from its
// saved record, with the record checked like a fresh handshake.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { launch, ClientError, reattach, silentLogger, type PluginHandle } from "../../src/host/index.js";
import type { DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { childProcesses, entries, makeHostTestEnv, type HostTestEnv } from "./host-test-env.js";

const HOST_SCRIPT = fileURLToPath(new URL("../fixtures/hosts/host-script.mjs", import.meta.url));

let env: HostTestEnv;
let plugin: PluginHandle<typeof DriverServiceService>;
beforeEach(async () => {
  env = await makeHostTestEnv();
  plugin = await launch("fake", { socketBaseDir: env.base, logger: silentLogger });
});
afterEach(async () => {
  await plugin.close();
  await env.cleanup();
});

async function refusal(record: unknown): Promise<ClientError> {
  const err = await reattach(record).then(
    () => new Error("reattach succeeded, expected a ClientError"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ClientError);
  return err as ClientError;
}

describe("reattach", () => {
  it("lets a second host process call and close a plugin from its saved record", async () => {
    const second = spawn(process.execPath, [HOST_SCRIPT, "reattach", JSON.stringify(plugin.record)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const lines = createInterface({ input: second.stdout! });
    const out: string[] = [];
    lines.on("line", (l) => out.push(l));
    const [code] = (await once(second, "exit")) as [number];
    expect(code).toBe(0);
    expect(JSON.parse(out[0]!)).toEqual({ driverName: "fake", pid: plugin.pid });
    expect(out[1]).toBe("closed");
    // The second host's Shutdown stopped the plugin this process launched, and it was reaped here.
    await expect.poll(() => plugin.exit).toEqual({ code: 0, signal: null });
    expect(childProcesses()).toEqual([]);
    expect(await entries(env.base)).toEqual([]);
  });

  it("reattaches from the record's JSON text in the same process", async () => {
    const again = await reattach(JSON.stringify(plugin.record));
    await expect(again.client.getInfo({})).resolves.toMatchObject({ driverName: "fake" });
    again.detach();
    // Detaching left the plugin running for its launcher.
    await expect(plugin.client.getInfo({})).resolves.toMatchObject({ driverName: "fake" });
    expect(plugin.gone).toBe(false);
  });

  it("refuses a record whose socket lies outside its private dir", async () => {
    const err = await refusal({ ...plugin.record, address: join(env.scratch, "x.sock") });
    expect(err.reason).toBe("untrusted-address");
  });

  it("refuses a record whose private dir others can enter", async () => {
    await fs.chmod(plugin.record.privateDir, 0o755);
    const err = await refusal(plugin.record);
    await fs.chmod(plugin.record.privateDir, 0o700);
    expect(err.reason).toBe("bad-record");
    expect(err.message).toContain("mode 0755");
  });

  it("refuses a record whose process is gone", async () => {
    const dead = spawn(process.execPath, ["-e", "0"]);
    await once(dead, "exit");
    const err = await refusal({ ...plugin.record, pid: dead.pid });
    expect(err.reason).toBe("bad-record");
    expect(err.message).toContain("not running");
  });

  it.each([
    ["not JSON", "{"],
    ["a wrong format", { format: 2 }],
    ["a missing address", { format: 1, driver: "fake", pid: 5, appVersion: 1, privateDir: "/tmp/x" }],
  ])("refuses %s", async (_what, record) => {
    expect((await refusal(record)).reason).toBe("bad-record");
  });
});
