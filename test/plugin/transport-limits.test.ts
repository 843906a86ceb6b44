// The transport limits serve() and launch() set by default: the HTTP/2
// receive windows a client of the plugin sees (HTTP/2's defaults: the plugin
// no longer raises them), and messages over grpc-js's 4 MiB default both ways
// through the host's typed client.
import { connect, getDefaultSettings, type ClientHttp2Session } from "node:http2";
import { connect as netConnect } from "node:net";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClientError, launch, silentLogger, type PluginHandle } from "../../src/host/index.js";
import {
  FIXTURES,
  pluginEnv,
  removeDir,
  shortTempDir,
  spawnPlugin,
  unary,
  type RunningPlugin,
} from "./spawn-plugin.js";

const KEEPER = join(FIXTURES, "config-keeper-driver.mjs");
const MIB = 1024 * 1024;

let base: string;
let running: RunningPlugin[] = [];
let handles: PluginHandle[] = [];
let sessions: ClientHttp2Session[] = [];

beforeEach(async () => {
  base = await shortTempDir();
});

afterEach(async () => {
  for (const s of sessions) s.destroy();
  await Promise.all([...running.map((p) => p.close()), ...handles.map((h) => h.close())]);
  running = [];
  handles = [];
  sessions = [];
  await removeDir(base);
});

async function keeper(serveOptions: Record<string, number> = {}): Promise<RunningPlugin> {
  const plugin = await spawnPlugin({
    command: KEEPER,
    env: pluginEnv({ PLUGIN_UNIX_SOCKET_DIR: base, FIXTURE_SERVE_OPTIONS: JSON.stringify(serveOptions) }),
  });
  running.push(plugin);
  return plugin;
}

/** What a raw HTTP/2 client of the socket may send: the plugin's stream and connection windows. */
async function windowsSeenBy(
  socketPath: string,
): Promise<{ stream: number | undefined; connection: number | undefined }> {
  const session = connect("http://localhost", { createConnection: () => netConnect(socketPath) });
  sessions.push(session);
  await once(session, "remoteSettings");
  // The plugin sends its SETTINGS and connection WINDOW_UPDATE before it can answer a PING.
  await new Promise<void>((resolve, reject) => session.ping((err) => (err ? reject(err) : resolve())));
  return { stream: session.remoteSettings.initialWindowSize, connection: session.state.remoteWindowSize };
}

describe("HTTP/2 receive windows", () => {
  it("a plugin keeps HTTP/2's default receive windows (larger ones made 1 MiB calls slower in make bench)", async () => {
    const plugin = await keeper();
    const defaults = getDefaultSettings().initialWindowSize;
    expect(await windowsSeenBy(plugin.socketPath)).toEqual({ stream: defaults, connection: defaults });
  });
});

describe("message sizes", () => {
  async function launchKeeper(options: { maxMessageBytes?: number } = {}): Promise<PluginHandle> {
    const handle = await launch("keeper", {
      executable: KEEPER,
      socketBaseDir: join(base, "h"),
      logger: silentLogger,
      ...options,
    });
    handles.push(handle);
    return handle;
  }

  it("a 6 MiB config goes to the plugin and comes back through launch()'s client with the defaults", async () => {
    const plugin = await launchKeeper();
    const config = Buffer.alloc(6 * MIB, 0x61);
    await plugin.client.setConfig({ configJson: config });
    const back = await plugin.client.getConfig({});
    expect(back.configJson.length).toBe(config.length);
    expect(Buffer.compare(back.configJson, config)).toBe(0);
  });

  it("a message over the limit fails RESOURCE_EXHAUSTED, not silently", async () => {
    const plugin = await launchKeeper({ maxMessageBytes: MIB });
    const err = await plugin.client.setConfig({ configJson: Buffer.alloc(2 * MIB) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).code).toBe(status.RESOURCE_EXHAUSTED);
  });

  it("the plugin refuses a message over its own limit", async () => {
    const plugin = await keeper({ maxMessageBytes: MIB });
    const err = await unary((cb) => plugin.driver().setConfig({ configJson: Buffer.alloc(2 * MIB) }, cb)).catch(
      (e: { code: number }) => e,
    );
    expect((err as { code: number }).code).toBe(status.RESOURCE_EXHAUSTED);
  });

  it("launch() refuses a window HTTP/2 cannot carry before starting anything", async () => {
    await expect(
      launch("keeper", {
        executable: KEEPER,
        socketBaseDir: join(base, "h"),
        logger: silentLogger,
        receiveWindowBytes: 1000,
      }),
    ).rejects.toThrow("receiveWindowBytes must be a whole number of bytes from 65535 to 2147483647; got 1000");
    expect(existsSync(join(base, "h"))).toBe(false);
  });
});
