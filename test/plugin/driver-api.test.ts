// The driver author's API against a real plugin process: handlers answer with
// partial messages (unset fields take their defaults), a response that cannot
// be serialized is INTERNAL naming the method, the field and the value (and is
// logged by the plugin), and serve() refuses methods that miss an RPC's name.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientError, Code, launch, type HostLogRecord, type PluginHandle } from "../../src/host/index.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/plugins/api-driver.mjs", import.meta.url));

let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "dp-api-"));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

function start(mode: string, records: HostLogRecord[]): Promise<PluginHandle> {
  return launch("api", {
    executable: process.execPath,
    args: [FIXTURE, mode],
    socketBaseDir: base,
    logger: { log: (r) => records.push(r) },
    startTimeoutMs: 30_000,
  });
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

describe("partial responses", () => {
  const records: HostLogRecord[] = [];
  let plugin: PluginHandle;
  beforeAll(async () => {
    plugin = await start("partial", records);
  });
  afterAll(async () => {
    await plugin.close();
  });

  it("fills every field a handler left out with its default", async () => {
    expect(await plugin.client.getState({})).toEqual({ state: 0 });
    expect(await plugin.client.getUrl({})).toEqual({ url: "" });
    expect(await plugin.client.getSharedDirs({})).toEqual({
      sharedDirs: [
        { source: "/src", target: "", tag: "", type: "", readOnly: false, username: "", password: "" },
        { source: "/other", target: "/mnt", tag: "", type: "", readOnly: true, username: "", password: "" },
      ],
    });
    expect(await plugin.client.getConfig({})).toEqual({ configJson: Buffer.alloc(0) });
    // An empty message answered with undefined is fine too (stop returns nothing).
    expect(await plugin.client.stop({})).toEqual({});
  });

  it("fails an unserializable response INTERNAL, naming the method, the field and the value, and logs it", async () => {
    const err = await plugin.client.getSshInfo({}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    const e = err as ClientError;
    expect(e.code).toBe(Code.INTERNAL);
    expect(e.details).toContain("/driverplug.driver.v1.DriverService/GetSSHInfo");
    expect(e.details).toContain('field "port" = "22a" (string)');
    expect(e.details).not.toContain("Error serializing response");
    await expect
      .poll(() => records.find((r) => r.level === "error" && r.fields.method === e.path))
      .toMatchObject({ fields: { field: "port", value: '"22a" (string)' } });
    // The plugin keeps serving.
    expect(await plugin.client.getIp({})).toEqual({ ip: "192.0.2.9" });
  });

  it("names a nested field of a streamed message, after the messages that were fine", async () => {
    const seen: unknown[] = [];
    const err = await (async () => {
      for await (const message of plugin.client.create({})) seen.push(message);
    })().catch((e: unknown) => e);
    expect(seen).toEqual([{ progress: { step: "", message: "", percent: 50 } }]);
    expect(err).toMatchObject({ code: Code.INTERNAL });
    expect((err as ClientError).details).toContain('field "progress.percent" = "half" (string)');
  });

  it("names the element of a list that cannot be serialized", async () => {
    const err = (await plugin.client.getInfo({}).catch((e: unknown) => e)) as ClientError;
    expect(err.code).toBe(Code.INTERNAL);
    expect(err.details).toMatch(/GetInfo: .*field "apiVersions\[1\]" = "two" \(string\)/);
  });

  it("leaves the default answers (Probe) and empty streams as they are", async () => {
    expect(await plugin.client.probe({})).toEqual({ ready: true, message: "" });
    expect(await collect(plugin.client.start({}))).toEqual([]);
  });
});

describe("methods that match no RPC", () => {
  it("refuse to serve, suggesting the RPC's name, for own and inherited methods of a class", async () => {
    const records: HostLogRecord[] = [];
    const err = (await start("misnamed", records).catch((e: unknown) => e)) as ClientError;
    expect(err).toBeInstanceOf(ClientError);
    expect(err.reason).toBe("exited");
    expect(err.message).toContain("getIP() matches no DriverService RPC: did you mean getIp?");
    expect(err.message).toContain("getSSHInfo() matches no DriverService RPC: did you mean getSshInfo?");
    expect(err.message).not.toContain("requireMachine");
  });
});
