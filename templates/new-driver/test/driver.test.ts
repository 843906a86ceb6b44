// The __DRIVER__ driver through the `driverplug` command, as a user drives it:
// each command starts the plugin (bin/driverplug-driver-__DRIVER__), so this
// also checks that the machine's state survives between plugin processes.
// Then driverplug's conformance kit checks the driver contract.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DRIVERPLUG = join(ROOT, "node_modules", ".bin", "driverplug");

let store: string;
before(async () => {
  store = await mkdtemp(join(tmpdir(), "__DRIVER__-test-"));
});
after(async () => {
  await rm(store, { recursive: true, force: true });
});

/** Runs `driverplug <args>` with a private store and this project's plugin; returns stdout. */
async function driverplug(...args: string[]): Promise<string> {
  const env = { ...process.env, DRIVERPLUG_STORE: store, DRIVERPLUG_PLUGIN_DIRS: join(ROOT, "bin") };
  return (await run(DRIVERPLUG, args, { env })).stdout.trim();
}

test("a machine's life: create with flags, start, status, ip, stop, rm", async () => {
  await driverplug("create", "--driver", "__DRIVER__", "--cpus", "2", "--memory", "1024", "m1");
  const saved = JSON.parse(await readFile(join(store, "machines", "m1", "config.json"), "utf8"));
  assert.deepEqual(saved.config, {
    machineName: "m1",
    storePath: join(store, "machines", "m1"),
    cpus: 2,
    memoryMiB: 1024,
  });
  assert.equal(await driverplug("status", "m1"), "Stopped");
  await driverplug("start", "m1");
  assert.equal(await driverplug("status", "m1"), "Running");
  assert.equal(await driverplug("ip", "m1"), "192.0.2.10");
  await driverplug("stop", "m1");
  assert.equal(await driverplug("status", "m1"), "Stopped");
  await driverplug("rm", "m1");
  assert.equal(await driverplug("ls", "--json"), "[]");
});

test("a bad flag value is refused with the driver's message and leaves no machine", async () => {
  await assert.rejects(
    driverplug("create", "--driver", "__DRIVER__", "--cpus", "0", "m2"),
    (err: { stderr: string }) => {
      assert.match(err.stderr, /config field "cpus" must be a whole number from 1 to 64, got 0/);
      return true;
    },
  );
  assert.equal(await driverplug("ls", "--json"), "[]");
});

test("passes driverplug's conformance kit", async () => {
  const plugin = join(ROOT, "bin", "driverplug-driver-__DRIVER__");
  const { stdout } = await run(DRIVERPLUG, ["conformance", "--plugin", plugin], { maxBuffer: 16 * 1024 * 1024 });
  assert.match(stdout, /^\d+ passed, 0 failed, \d+ skipped$/m);
});
