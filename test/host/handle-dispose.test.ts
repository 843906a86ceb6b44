// `await using plugin = await launch(...)`: leaving the block closes the
// plugin as close() does (Shutdown, process reaped, private dir removed),
// also when the block throws; and a failed launch is a LaunchError, which is
// a ClientError, so existing `instanceof ClientError` code keeps working.
import { existsSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClientError, LaunchError, launch, silentLogger, type PluginHandle } from "../../src/host/index.js";
import { processAlive } from "../../src/host/plugin-process.js";
import { makeHostTestEnv, type HostTestEnv } from "./host-test-env.js";

let env: HostTestEnv;
beforeEach(async () => {
  env = await makeHostTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});

describe("PluginHandle[Symbol.asyncDispose]", () => {
  it("closes the plugin when the block ends", async () => {
    let seen: PluginHandle | undefined;
    {
      await using plugin = await launch("fake", { socketBaseDir: env.base, logger: silentLogger });
      seen = plugin;
      expect((await plugin.client.getInfo({})).driverName).toBe("fake");
      expect(processAlive(plugin.pid)).toBe(true);
    }
    expect(seen.gone).toBe(true);
    expect(seen.exit).toMatchObject({ code: 0 });
    expect(existsSync(seen.record.privateDir)).toBe(false);
  });

  it("closes it when the block throws, and the error is the block's", async () => {
    let seen: PluginHandle | undefined;
    const run = async () => {
      await using plugin = await launch("fake", { socketBaseDir: env.base, logger: silentLogger });
      seen = plugin;
      throw new Error("the block failed");
    };
    await expect(run()).rejects.toThrow("the block failed");
    expect(seen?.gone).toBe(true);
  });
});

describe("LaunchError", () => {
  it("is what a failed launch throws, and is a ClientError with a reason", async () => {
    const err = await launch("no-such-driver-here", { pluginDirs: [env.scratch], socketBaseDir: env.base }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LaunchError);
    expect(err).toBeInstanceOf(ClientError);
    expect(err).toMatchObject({ name: "LaunchError", reason: "not-found", codeName: "NOT_FOUND" });
  });
});
