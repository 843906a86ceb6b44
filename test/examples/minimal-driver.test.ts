// examples/minimal-driver.ts is a working plugin: a driverplug host drives it
// through its whole lifecycle, and what it leaves out answers UNIMPLEMENTED.
import { status } from "@grpc/grpc-js";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { DriverServiceService, State } from "../../generated/driverplug/driver/v1/driver.js";
import { ClientError, launch, silentLogger, type PluginHandle } from "../../src/host/index.js";

const example = fileURLToPath(new URL("../../dist/examples/minimal-driver.js", import.meta.url));
let base: string;
let plugin: PluginHandle<typeof DriverServiceService> | undefined;

afterEach(async () => {
  await plugin?.close();
  await rm(base, { recursive: true, force: true });
});

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

describe("examples/minimal-driver.ts", () => {
  it("runs a machine's lifecycle through a host and leaves nothing behind", async () => {
    base = await mkdtemp(join(tmpdir(), "dp-"));
    plugin = await launch("minimal", {
      executable: process.execPath,
      args: [example],
      socketBaseDir: base,
      logger: silentLogger,
    });
    const { client } = plugin;
    await client.setConfig({ configJson: Buffer.from('{"machineName":"mini"}') });
    const progress = await collect(client.create({}));
    expect(progress.map((p) => p.progress?.percent)).toEqual([50, 100]);
    await collect(client.start({}));
    expect((await client.getState({})).state).toBe(State.STATE_RUNNING);
    expect((await client.getIp({})).ip).toBe("192.0.2.1");
    await client.stop({});
    await expect(client.getIp({})).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
    const missing = await client.getUrl({}).catch((err: unknown) => err);
    expect(missing).toBeInstanceOf(ClientError);
    expect(missing).toMatchObject({ code: status.UNIMPLEMENTED });
    const info = await client.getInfo({});
    expect(info).toMatchObject({ driverName: "minimal", driverVersion: "1.0.0" });
    await client.remove({});
    await plugin.close();
    expect(plugin.exit?.code).toBe(0);
    expect(await readdir(base)).toEqual([]);
  });
});
