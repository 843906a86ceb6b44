// Kill and the call it aborts, in a real plugin process: the aborted Stop's
// caller gets CANCELLED, the Stop handler's cleanup runs to its end, and only
// then does Kill's handler run, so the two never touch a driver's files at
// the same time.
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { launch, type HostLogRecord, type PluginHandle } from "../../src/host/index.js";
import { makeHostTestEnv, type HostTestEnv } from "../host/host-test-env.js";

const KEEPER = new URL("../fixtures/plugins/config-keeper-driver.mjs", import.meta.url).pathname;

let env: HostTestEnv;
let plugin: PluginHandle | undefined;
beforeEach(async () => {
  env = await makeHostTestEnv();
});
afterEach(async () => {
  await plugin?.close();
  await env.cleanup();
});

describe("Kill during a mutating call", () => {
  it("runs after the aborted handler has cleaned up; the aborted call's caller hears CANCELLED", async () => {
    const records: HostLogRecord[] = [];
    plugin = await launch("keeper", {
      executable: KEEPER,
      socketBaseDir: join(env.base),
      logger: { log: (r) => void records.push(r) },
    });
    const stop = plugin.client.stop({}).then(
      () => "OK",
      (err: { codeName: string }) => err.codeName,
    );
    await expect.poll(() => records.some((r) => r.message === "stop began")).toBe(true);
    await plugin.client.kill({});
    expect(await stop).toBe("CANCELLED");
    const plugins = records.map((r) => r.message).filter((m) => /^(stop|kill) /.test(m));
    expect(plugins).toEqual(["stop began", "stop aborted", "stop cleaned up", "kill ran"]);
  });
});
