// A host application in a few lines: launch the bundled fake driver, give it
// a machine config, create and start the machine while showing progress,
// read its state, stop and remove it; the plugin is closed when the block
// ends (`await using`). A middleware times every call.
//
// Run: make build && node dist/examples/host.js
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ClientError,
  Code,
  jsonConfig,
  launch,
  stateName,
  stateToJSON,
  type ClientMiddleware,
} from "../src/host/index.js";

const configCodec = jsonConfig();

/** Around every call: how long it took, written when DRIVERPLUG_EXAMPLE_TIMING is set. */
const timing: ClientMiddleware = async function* (call, options) {
  const started = performance.now();
  try {
    return yield* call.next(call.request, options);
  } finally {
    if (process.env.DRIVERPLUG_EXAMPLE_TIMING)
      console.log(`  (${call.method}: ${(performance.now() - started).toFixed(1)} ms)`);
  }
};

const storePath = await mkdtemp(join(tmpdir(), "driverplug-example-"));
try {
  await using plugin = await launch("fake", { middleware: [timing] });
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
  // The names people read ("Stopped"), as the driverplug command prints them.
  console.log(`driverplug status would say: ${stateName((await plugin.client.getState({})).state)}`);

  await plugin.client.remove({});
  // Errors carry a status code to act on, not a string to compare.
  await plugin.client.getIp({}).catch((err: unknown) => {
    const e = ClientError.from(err);
    if (e.code !== Code.NOT_FOUND) throw e;
    console.log(`after remove, GetIP says ${e.codeName}: ${e.details}`);
  });
} finally {
  await rm(storePath, { recursive: true, force: true });
}
