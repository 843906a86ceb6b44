// The fake plugin's executable as `make build` ships it: a bundle run through
// scripts/code-cache-runner.cjs with a V8 code cache. The cache only ever
// speeds things up: missing, damaged, stale, rejected or untrusted, it is
// skipped and the plugin still serves. Each case runs a private copy of the
// built bundle, so the shared dist/ stays untouched. A cache is never
// shipped: a run that finds none usable writes one at exit.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { chmod, chown, copyFile, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import type { DriverServiceClient } from "../../generated/driverplug/driver/v1/driver.js";
import { FAKE_PLUGIN, REPO, pluginEnv, shortTempDir, spawnPlugin, type RunningPlugin } from "../plugin/spawn-plugin.js";

const run = promisify(execFile);
const BUILT = join(REPO, "dist", "bundle", "driverplug-driver-fake");
const NAME = "driverplug-driver-fake";
const TRACE_PREFIX = "driverplug code cache: ";

const dirs: string[] = [];
const plugins: RunningPlugin[] = [];

afterEach(async () => {
  await Promise.all(plugins.splice(0).map((p) => p.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await shortTempDir();
  dirs.push(dir);
  return dir;
}

/** A private copy of the built runner, bundle and cache; returns the runner's path. */
async function copyOfBuild(): Promise<{ runner: string; cache: string; bundle: string }> {
  const dir = await tempDir();
  const base = join(dir, NAME);
  for (const suffix of [".cjs", ".bundle.cjs", ".bundle.cjs.v8cache"])
    await copyFile(`${BUILT}${suffix}`, `${base}${suffix}`);
  return { runner: `${base}.cjs`, cache: `${base}.bundle.cjs.v8cache`, bundle: `${base}.bundle.cjs` };
}

/** Starts a plugin with cache tracing on; returns it with its trace line. */
async function startTraced(
  command: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<{ plugin: RunningPlugin; trace: string }> {
  const socketDir = await tempDir();
  const plugin = await spawnPlugin({
    command,
    args,
    env: pluginEnv({ PLUGIN_UNIX_SOCKET_DIR: socketDir, DRIVERPLUG_TRACE: "1", ...env }),
  });
  plugins.push(plugin);
  return { plugin, trace: (await traceLine(plugin)).slice(TRACE_PREFIX.length) };
}

/** The runner's trace line: written before the handshake, but stderr is its own pipe. */
async function traceLine(plugin: RunningPlugin): Promise<string> {
  for (;;) {
    const line = plugin.stderr.find((l) => l.startsWith(TRACE_PREFIX));
    if (line !== undefined) return line;
    const [chunk] = (await Promise.race([once(plugin.child.stderr!, "data"), once(plugin.child.stderr!, "end")])) as [
      unknown,
    ];
    if (chunk === undefined) throw new Error(`no code cache trace line on stderr: ${plugin.stderr.join("\n")}`);
  }
}

function runBundle(runner: string, nodeArgs: string[] = []) {
  return startTraced(process.execPath, [...nodeArgs, runner]);
}

function probe(client: DriverServiceClient): Promise<unknown> {
  return new Promise((resolve, reject) => client.probe({}, (err, res) => (err ? reject(err) : resolve(res))));
}

/** The plugin answers a real call: the bundle ran whole, cache or not. */
async function expectServes(plugin: RunningPlugin): Promise<void> {
  await expect(probe(plugin.driver())).resolves.toBeDefined();
}

/** Header lines and V8 payload of a cache file. */
async function readCache(cache: string): Promise<{ stamp: string; payload: Buffer }> {
  const data = await readFile(cache);
  const stampEnd = data.indexOf(10);
  const sumEnd = data.indexOf(10, stampEnd + 1);
  return { stamp: data.toString("latin1", 0, stampEnd), payload: data.subarray(sumEnd + 1) };
}

/**
 * A cache whose payload is damaged but whose checksum matches: V8 would crash
 * deserialising it, so only the ownership and mode checks stand in its way.
 */
async function writePoisonedCache(cache: string): Promise<void> {
  const { stamp, payload } = await readCache(cache);
  const poisoned = Buffer.from(payload);
  for (let i = Math.floor(poisoned.length / 3); i < Math.floor(poisoned.length / 3) + 512; i++) poisoned[i]! ^= 0x5a;
  const sum = createHash("sha1").update(poisoned).digest("hex");
  await writeFile(cache, Buffer.concat([Buffer.from(`${stamp}\n${sum}\n`), poisoned]), { mode: 0o644 });
}

describe("the fake plugin's code cache", () => {
  it("is used by the shipped bin/driverplug-driver-fake, which serves calls", async () => {
    const { plugin, trace } = await startTraced(FAKE_PLUGIN);
    expect(trace).toBe("used");
    await expectServes(plugin);
  });

  it("is used by the shipped bin/driverplug CLI too", async () => {
    const { stdout, stderr } = await run(join(REPO, "bin", "driverplug"), ["--help"], {
      env: { ...process.env, DRIVERPLUG_TRACE: "1" },
    });
    expect(stderr.split("\n")).toContain(`${TRACE_PREFIX}used`);
    expect(stdout).toMatch(/^Usage: driverplug /);
  });

  it("is optional: without a cache file the bundle compiles normally and serves", async () => {
    const build = await copyOfBuild();
    await rm(build.cache);
    const { plugin, trace } = await runBundle(build.runner);
    expect(trace).toMatch(/^not used: cannot open .* \(ENOENT\)$/);
    await expectServes(plugin);
  });

  it("skips a damaged cache by its checksum and still serves", async () => {
    const build = await copyOfBuild();
    const data = await readFile(build.cache);
    for (let i = data.length - 4096; i < data.length - 2048; i++) data[i]! ^= 0xff;
    await writeFile(build.cache, data);
    const { plugin, trace } = await runBundle(build.runner);
    expect(trace).toMatch(/is damaged \(checksum mismatch\)$/);
    await expectServes(plugin);
  });

  it("skips a truncated cache and still serves", async () => {
    const build = await copyOfBuild();
    const data = await readFile(build.cache);
    await writeFile(build.cache, data.subarray(0, 100));
    const { plugin, trace } = await runBundle(build.runner);
    expect(trace).toMatch(/^not used: /);
    await expectServes(plugin);
  });

  it("ignores a cache made for another build of the bundle", async () => {
    const build = await copyOfBuild();
    const { payload } = await readCache(build.cache);
    const sum = createHash("sha1").update(payload).digest("hex");
    await writeFile(
      build.cache,
      Buffer.concat([Buffer.from(`//driverplug-bundle:${"0".repeat(64)}\n${sum}\n`), payload]),
    );
    const { plugin, trace } = await runBundle(build.runner);
    expect(trace).toMatch(/was made for another build of the bundle$/);
    await expectServes(plugin);
  });

  it("falls back to a normal compile when V8 rejects the cache (other V8 flags)", async () => {
    const build = await copyOfBuild();
    const { plugin, trace } = await runBundle(build.runner, ["--max-old-space-size=300"]);
    expect(trace).toBe("rejected by V8");
    await expectServes(plugin);
  });

  it("never hands V8 a group-writable cache, even one whose checksum matches", async () => {
    const build = await copyOfBuild();
    await writePoisonedCache(build.cache);
    await chmod(build.cache, 0o664);
    const { plugin, trace } = await runBundle(build.runner);
    expect(trace).toMatch(/is writable by group or others$/);
    await expectServes(plugin);
  });

  it("never hands V8 an other-writable cache", async () => {
    const build = await copyOfBuild();
    await writePoisonedCache(build.cache);
    await chmod(build.cache, 0o646);
    const { plugin, trace } = await runBundle(build.runner);
    expect(trace).toMatch(/is writable by group or others$/);
    await expectServes(plugin);
  });

  it("never hands V8 a cache owned by another user", async () => {
    const build = await copyOfBuild();
    await writePoisonedCache(build.cache);
    await chown(build.cache, 65534, 65534);
    const { plugin, trace } = await runBundle(build.runner);
    expect(trace).toMatch(/belongs to uid 65534, not to this user/);
    await expectServes(plugin);
  });

  it("does not follow a symlink in the cache's place", async () => {
    const build = await copyOfBuild();
    const elsewhere = join(await tempDir(), "cache");
    await copyFile(build.cache, elsewhere);
    await rm(build.cache);
    await symlink(elsewhere, build.cache);
    const { plugin, trace } = await runBundle(build.runner);
    expect(trace).toMatch(/^not used: cannot open .* \(ELOOP\)$/);
    await expectServes(plugin);
  });

  it("steps aside under --enable-source-maps: the bundle loads through require(), so stack traces map to src/, and serves", async () => {
    const build = await copyOfBuild();
    const { plugin, trace } = await runBundle(build.runner, ["--enable-source-maps"]);
    expect(trace).toBe("not used: source maps are on, so the bundle loads through require()");
    await expectServes(plugin);
  });

  it("is written at exit by a run that found none, and the next run uses it", async () => {
    const build = await copyOfBuild();
    await rm(build.cache);
    const first = await runBundle(build.runner);
    await expectServes(first.plugin);
    first.plugin.child.kill("SIGTERM");
    expect((await first.plugin.exited).code).toBe(0);
    expect((await readdir(join(build.runner, ".."))).sort()).toEqual([
      `${NAME}.bundle.cjs`,
      `${NAME}.bundle.cjs.v8cache`,
      `${NAME}.cjs`,
    ]);
    expect((await stat(build.cache)).mode & 0o777).toBe(0o644);
    const second = await runBundle(build.runner);
    expect(second.trace).toBe("used");
    await expectServes(second.plugin);
  });

  it("goes to this user's own cache folder (made 0700) when another user owns the bundle's folder", async () => {
    const build = await copyOfBuild();
    await rm(build.cache);
    const folder = join(build.runner, "..");
    await chown(folder, 65534, 65534);
    const xdg = await tempDir();
    const env = { XDG_CACHE_HOME: xdg };
    const first = await startTraced(process.execPath, [build.runner], env);
    expect(first.trace).toMatch(
      new RegExp(
        `^not used: cannot open ${xdg}/driverplug/${NAME}\\.bundle\\.cjs-[0-9a-f]{16}\\.v8cache \\(ENOENT\\)$`,
      ),
    );
    await expectServes(first.plugin);
    first.plugin.child.kill("SIGTERM");
    expect((await first.plugin.exited).code).toBe(0);
    expect((await stat(join(xdg, "driverplug"))).mode & 0o777).toBe(0o700);
    expect(await readdir(join(xdg, "driverplug"))).toEqual([expect.stringMatching(/\.v8cache$/)]);
    expect((await readdir(folder)).sort()).toEqual([`${NAME}.bundle.cjs`, `${NAME}.cjs`]);
    const second = await startTraced(process.execPath, [build.runner], env);
    expect(second.trace).toBe("used");
    await expectServes(second.plugin);
  });

  it("is neither read nor written with DRIVERPLUG_NO_CODE_CACHE=1", async () => {
    const build = await copyOfBuild();
    await rm(build.cache);
    const { plugin, trace } = await startTraced(process.execPath, [build.runner], { DRIVERPLUG_NO_CODE_CACHE: "1" });
    expect(trace).toBe("not used: DRIVERPLUG_NO_CODE_CACHE=1");
    await expectServes(plugin);
    plugin.child.kill("SIGTERM");
    expect((await plugin.exited).code).toBe(0);
    expect((await readdir(join(build.runner, ".."))).sort()).toEqual([`${NAME}.bundle.cjs`, `${NAME}.cjs`]);
  });
});
