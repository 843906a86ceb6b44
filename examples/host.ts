// A host application in a few lines: launch the bundled fake driver, give it
// a machine config, create and start the machine while showing progress,
// read its state, stop and remove it, and close the plugin.
//
// Run: make build && node dist/examples/host.js
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClientError, Code, jsonConfig, launch, stateToJSON } from "../src/host/index.js";

const configCodec = jsonConfig();

const storePath = await mkdtemp(join(tmpdir(), "driverplug-example-"));
const plugin = await launch("fake");
try {
  const info = await plugin.client.getInfo({});
  console.log(`driver ${info.driverName} ${info.driverVersion} (pid ${plugin.pid})`);

  const config = {
    machineName: "m1",
    storePath,
    cpus: 2,
    memoryMiB: 2048,
    diskGiB: 20,
    networks: ["default"],
    stepDelayMs: 0,
  };
  await plugin.client.setConfig({ configJson: configCodec.encode(config) });

  for await (const { progress } of plugin.client.create({})) {
    if (progress) console.log(`  ${String(progress.percent).padStart(3)}% ${progress.message}`);
  }
  console.log(`state after create: ${stateToJSON((await plugin.client.getState({})).state)}`);

  for await (const { progress } of plugin.client.start({})) {
    if (progress) console.log(`  ${String(progress.percent).padStart(3)}% ${progress.message}`);
  }
  console.log(
    `state after start: ${stateToJSON((await plugin.client.getState({})).state)}, ip ${(await plugin.client.getIp({})).ip}`,
  );

  await plugin.client.stop({});
  console.log(`state after stop: ${stateToJSON((await plugin.client.getState({})).state)}`);

  await plugin.client.remove({});
  // Errors carry a status code to act on, not a string to compare.
  await plugin.client.getIp({}).catch((err: unknown) => {
    const e = ClientError.from(err);
    if (e.code !== Code.NOT_FOUND) throw e;
    console.log(`after remove, GetIP says ${e.codeName}: ${e.details}`);
  });
} finally {
  await plugin.close();
  await rm(storePath, { recursive: true, force: true });
}
