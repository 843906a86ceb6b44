// scripts/bundle-plugin.mjs as a driver author runs it: entry in, a
// fast-starting plugin executable (launcher, runner, bundle, code cache) out.
import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdir, readdir, readFile, rm, stat, symlink } from "node:fs/promises";
import { SourceMap, type SourceMapPayload } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { State, type DriverServiceClient, type GetStateResponse } from "../../generated/driverplug/driver/v1/driver.js";
import { REPO, pluginEnv, shortTempDir, spawnPlugin, type RunningPlugin } from "../plugin/spawn-plugin.js";

const run = promisify(execFile);
const BUNDLE_PLUGIN = join(REPO, "scripts", "bundle-plugin.mjs");
const ENTRY = join(REPO, "test", "build", "fixtures", "tiny-driver.ts");

let dir: string;
let out: string;
const socketDirs: string[] = [];

beforeAll(async () => {
  dir = await shortTempDir();
  // bin/ does not exist yet: the script makes it, as on a fresh clone's dist/.
  out = join(dir, "bin", "driverplug-driver-tiny");
  const { stdout } = await run(process.execPath, [BUNDLE_PLUGIN, ENTRY, out]);
  expect(stdout.trim()).toBe(out);
}, 60_000);

afterAll(async () => {
  await Promise.all([dir, ...socketDirs].map((d) => rm(d, { recursive: true, force: true })));
});

function getState(client: DriverServiceClient): Promise<GetStateResponse> {
  return new Promise((resolve, reject) => client.getState({}, (err, res) => (err ? reject(err) : resolve(res))));
}

async function startTraced(command: string): Promise<{ plugin: RunningPlugin; trace: string }> {
  const socketDir = await shortTempDir();
  socketDirs.push(socketDir);
  const plugin = await spawnPlugin({
    command,
    env: pluginEnv({ PLUGIN_UNIX_SOCKET_DIR: socketDir, DRIVERPLUG_TRACE: "1" }),
  });
  for (;;) {
    const line = plugin.stderr.find((l) => l.startsWith("driverplug code cache: "));
    if (line !== undefined) return { plugin, trace: line };
    const [chunk] = (await Promise.race([once(plugin.child.stderr!, "data"), once(plugin.child.stderr!, "end")])) as [
      unknown,
    ];
    if (chunk === undefined) throw new Error(`no code cache trace line on stderr: ${plugin.stderr.join("\n")}`);
  }
}

describe("bundle-plugin.mjs", () => {
  it("writes an executable launcher, its runner, the bundle with a source map and a code cache only its user may write", async () => {
    expect((await readdir(join(dir, "bin"))).sort()).toEqual([
      "driverplug-driver-tiny",
      "driverplug-driver-tiny.bundle.cjs",
      "driverplug-driver-tiny.bundle.cjs.map",
      "driverplug-driver-tiny.bundle.cjs.v8cache",
      "driverplug-driver-tiny.cjs",
    ]);
    expect((await stat(out)).mode & 0o777).toBe(0o755);
    const cache = await stat(`${out}.bundle.cjs.v8cache`);
    expect(cache.uid).toBe(process.getuid!());
    expect(cache.mode & 0o022).toBe(0);
  });

  it("writes a source map that points the bundle's code back at the entry's source lines", async () => {
    const code = (await readFile(`${out}.bundle.cjs`, "latin1")).split("\n");
    const line = code.findIndex((l) => l.includes('name:"tiny"'));
    expect(line).toBeGreaterThan(0);
    const map = new SourceMap(JSON.parse(await readFile(`${out}.bundle.cjs.map`, "utf8")) as SourceMapPayload);
    const entry = map.findEntry(line, code[line]!.indexOf('name:"tiny"'));
    expect(entry).toMatchObject({ originalSource: expect.stringMatching(/test\/build\/fixtures\/tiny-driver\.ts$/) });
    const source = (await readFile(ENTRY, "utf8")).split("\n");
    expect(source[(entry as { originalLine: number }).originalLine]).toContain('name: "tiny"');
  });

  it("makes an executable that starts from its code cache and serves the driver", async () => {
    const { plugin, trace } = await startTraced(out);
    try {
      expect(trace).toBe("driverplug code cache: used");
      expect(plugin.handshake.address).toMatch(/\/tiny-\d+-[0-9a-f]+\.sock$/);
      expect((await getState(plugin.driver())).state).toBe(State.STATE_RUNNING);
    } finally {
      await plugin.close();
    }
  });

  it("makes a launcher that still finds its files when run through a symlink, as npm links bins", async () => {
    const links = join(dir, "links");
    await mkdir(links, { recursive: true });
    await symlink(out, join(links, "driverplug-driver-tiny"));
    const { plugin, trace } = await startTraced(join(links, "driverplug-driver-tiny"));
    try {
      expect(trace).toBe("driverplug code cache: used");
      expect((await getState(plugin.driver())).state).toBe(State.STATE_RUNNING);
    } finally {
      await plugin.close();
    }
  });

  it("starts the plugin with the --cookie given, and fails saying why when the plugin refuses it", async () => {
    const failed = run(process.execPath, [
      BUNDLE_PLUGIN,
      ENTRY,
      join(dir, "other", "driverplug-driver-tiny"),
      "--cookie=OTHER_COOKIE=1",
    ]);
    await expect(failed).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("exited with 1 while its code cache was made"),
    });
    await expect(failed).rejects.toMatchObject({ stderr: expect.stringContaining("DRIVERPLUG_PLUGIN") });
  });

  it("refuses an entry with top-level await, saying to call serve() without awaiting it", async () => {
    const entry = join(REPO, "test", "build", "fixtures", "awaited-entry.ts");
    const failed = run(process.execPath, [BUNDLE_PLUGIN, entry, join(dir, "bin", "driverplug-driver-awaited")]);
    await expect(failed).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining("uses top-level await") });
    await expect(failed).rejects.toMatchObject({
      stderr: expect.stringContaining("call serve(...) without awaiting it"),
    });
  });
});
