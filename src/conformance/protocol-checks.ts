// protocol: the plugin's side of the go-plugin-compatible protocol, judged
// from outside the plugin: the cookie, the handshake line, the socket's
// directory and mode, health, Shutdown, SIGTERM, SIGINT, the host's death.
import { Client, credentials } from "@grpc/grpc-js";
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { HealthCheckResponse_ServingStatus, HealthService } from "../../generated/grpc/health/v1/health.js";
import { GRPCControllerService } from "../../generated/plugin/grpc_controller.js";
import { defaultSocketBaseDir, makePrivateDir, removePrivateDir } from "../host/private-socket-dir.js";
import { processAlive } from "../host/plugin-process.js";
import { createTypedClient } from "../host/typed-client.js";
import { HandshakeError, parseHandshake, type Handshake } from "../protocol/handshake.js";
import { PROTOCOL_VERSIONS } from "../protocol/versions.js";
import { effectiveUid } from "../socket/private-dir.js";
import { unixAddress } from "../socket/socket-path.js";
import { fail, type Check } from "./check.js";
import type { CheckContext } from "./check-context.js";
import { describeOutcome, outcome, quote } from "./expectations.js";
import { pluginEnv, RawPlugin, spawnRaw } from "./raw-plugin.js";

/** How long a plugin has to exit after Shutdown, SIGTERM or its host's death (go-plugin's host waits 2 s, then SIGKILLs). */
const EXIT_WAIT_MS = 10_000;

/** A fresh private socket dir like a host makes, removed when the check ends. */
async function privateSocketDir(ctx: CheckContext): Promise<string> {
  const dir = (await makePrivateDir(ctx.settings.socketBaseDir ?? defaultSocketBaseDir())).path;
  ctx.defer(`remove socket dir ${dir}`, () => removePrivateDir(dir));
  return dir;
}

interface Serving {
  plugin: RawPlugin;
  handshake: Handshake;
  socketDir: string;
}

/** Starts the plugin by hand and waits for a handshake that parses. */
async function serving(ctx: CheckContext, env?: Record<string, string>): Promise<Serving> {
  const socketDir = await privateSocketDir(ctx);
  const plugin = spawnRaw(ctx, { socketDir, ...(env ? { env } : {}) });
  const line = await plugin.firstLine(ctx.settings.stepTimeoutMs);
  if (line === undefined) {
    fail(
      `expected a handshake line on stdout, got none: the plugin ${plugin.describeExit()}` +
        (plugin.stderr ? `; its stderr ends ${quote(plugin.stderr.slice(-400))}` : ""),
    );
  }
  try {
    return { plugin, handshake: parseHandshake(line), socketDir };
  } catch (err) {
    if (err instanceof HandshakeError) fail(`expected a go-plugin handshake as the first stdout line: ${err.message}`);
    throw err;
  }
}

function channelTo(ctx: CheckContext, address: string): Client {
  const client = new Client(unixAddress(address), credentials.createInsecure());
  ctx.defer("close the check's channel", async () => client.close());
  return client;
}

async function gone(path: string): Promise<boolean> {
  return fs.lstat(path).then(
    () => false,
    (err: NodeJS.ErrnoException) => err.code === "ENOENT",
  );
}

/** After Shutdown or SIGTERM: exited by itself, socket removed. */
async function expectCleanExit(plugin: RawPlugin, socket: string, after: string): Promise<void> {
  if (!(await plugin.waitExit(EXIT_WAIT_MS)))
    fail(`after ${after}: expected the plugin to exit, it still runs after ${EXIT_WAIT_MS / 1000} s`);
  if (plugin.exit?.signal) fail(`after ${after}: expected the plugin to exit by itself, it ${plugin.describeExit()}`);
  if (!(await gone(socket))) fail(`after ${after}: expected the socket ${socket} to be removed, it is still there`);
}

/** Refused to start: no handshake, a non-zero exit, a message on stderr. */
async function expectRefusal(plugin: RawPlugin, ms: number, what: string, mentions?: string): Promise<void> {
  if (!(await plugin.waitExit(ms))) fail(`${what}: expected the plugin to exit, it still runs after ${ms / 1000} s`);
  if (plugin.exit?.code === 0) fail(`${what}: expected a non-zero exit code, got 0`);
  const line = plugin.stdout.split("\n")[0] ?? "";
  if (line.includes("|unix|") || line.includes("|tcp|")) fail(`${what}: expected no handshake, got ${quote(line)}`);
  if (plugin.stderr.trim() === "") fail(`${what}: expected a message on stderr saying why, got nothing`);
  if (mentions !== undefined && !plugin.stderr.includes(mentions))
    fail(`${what}: expected the message to name ${quote(mentions)}, got ${quote(plugin.stderr.trim())}`);
}

export const protocolChecks: readonly Check[] = [
  {
    category: "protocol",
    name: "refuses to run without its magic cookie",
    usesInfo: false,
    async run(ctx) {
      const plugin = spawnRaw(ctx, { socketDir: await privateSocketDir(ctx), cookie: false });
      await expectRefusal(plugin, ctx.settings.stepTimeoutMs, "started without the cookie");
      if (plugin.stdout !== "")
        fail(`started without the cookie: expected nothing on stdout, got ${quote(plugin.stdout)}`);
    },
  },
  {
    category: "protocol",
    name: "refuses a protocol version it does not speak",
    usesInfo: false,
    async run(ctx) {
      const plugin = spawnRaw(ctx, { socketDir: await privateSocketDir(ctx), versions: "9999" });
      await expectRefusal(plugin, ctx.settings.stepTimeoutMs, "offered only version 9999", "9999");
    },
  },
  {
    category: "protocol",
    name: "nothing on stdout before the handshake",
    usesInfo: false,
    async run(ctx) {
      // serving() fails when the first line is anything but a handshake.
      await serving(ctx);
    },
  },
  {
    category: "protocol",
    name: "handshake line is 1|<version>|unix|<socket>|grpc|",
    usesInfo: false,
    async run(ctx) {
      const { handshake, socketDir } = await serving(ctx);
      const offered = PROTOCOL_VERSIONS;
      if (!offered.includes(handshake.appVersion))
        fail(`expected an app version the host offered (${offered.join(",")}), got ${handshake.appVersion}`);
      if (handshake.network !== "unix") fail(`expected network "unix", got ${quote(handshake.network)}`);
      if (handshake.protocol !== "grpc") fail(`expected protocol "grpc", got ${quote(handshake.protocol)}`);
      if (handshake.serverCert !== "")
        fail("expected an empty certificate field (no AutoMTLS was asked), got a certificate");
      if (handshake.multiplex !== undefined)
        fail("expected 6 fields (PLUGIN_MULTIPLEX_GRPC was not set), got a 7th; go-plugin 1.0.1 hosts break on it");
      if (dirname(handshake.address) !== socketDir)
        fail(`expected the socket directly in PLUGIN_UNIX_SOCKET_DIR ${socketDir}, got ${quote(handshake.address)}`);
    },
  },
  {
    category: "protocol",
    name: "socket is 0600, owned by the user, in the private directory",
    usesInfo: false,
    async run(ctx) {
      const { handshake, socketDir } = await serving(ctx);
      if (dirname(handshake.address) !== socketDir)
        fail(`expected the socket in ${socketDir}, got ${quote(handshake.address)}`);
      const st = await fs.lstat(handshake.address).catch(() => fail(`the socket ${handshake.address} does not exist`));
      if (!st.isSocket()) fail(`expected ${handshake.address} to be a socket, got another kind of file`);
      if (st.uid !== effectiveUid())
        fail(`expected the socket to be owned by uid ${effectiveUid()}, got uid ${st.uid}`);
      const mode = st.mode & 0o777;
      if (mode !== 0o600) fail(`expected socket mode 0600, got 0${mode.toString(8)}`);
    },
  },
  {
    category: "protocol",
    name: "refuses a group- or world-accessible or symlinked socket directory",
    usesInfo: false,
    async run(ctx) {
      const open = join(ctx.storePath, "open");
      await fs.mkdir(open);
      await fs.chmod(open, 0o777);
      const first = spawnRaw(ctx, { socketDir: open });
      await expectRefusal(first, ctx.settings.stepTimeoutMs, `given a 0777 socket dir ${open}`, open);
      if ((await fs.readdir(open)).length > 0)
        fail(`given a 0777 socket dir: expected nothing created in it, got ${(await fs.readdir(open)).join(", ")}`);
      const real = await privateSocketDir(ctx);
      const link = join(ctx.storePath, "link");
      await fs.symlink(real, link);
      const second = spawnRaw(ctx, { socketDir: link });
      await expectRefusal(second, ctx.settings.stepTimeoutMs, `given a symlink ${link} as socket dir`, link);
    },
  },
  {
    category: "protocol",
    name: 'health reports SERVING for "plugin"',
    usesInfo: false,
    async run(ctx) {
      const { handshake } = await serving(ctx);
      const health = createTypedClient(HealthService, channelTo(ctx, handshake.address));
      const answer = await outcome(health.check({ service: "plugin" }, { timeoutMs: ctx.settings.stepTimeoutMs }));
      if (!answer.ok)
        fail(`grpc.health.v1.Health/Check("plugin"): expected SERVING, got ${describeOutcome(answer.error)}`);
      if (answer.value.status !== HealthCheckResponse_ServingStatus.SERVING)
        fail(`grpc.health.v1.Health/Check("plugin"): expected SERVING, got status ${answer.value.status}`);
    },
  },
  {
    category: "protocol",
    name: "Shutdown makes it exit and remove its socket",
    usesInfo: false,
    async run(ctx) {
      const { plugin, handshake } = await serving(ctx);
      const controller = createTypedClient(GRPCControllerService, channelTo(ctx, handshake.address));
      const answer = await outcome(controller.shutdown({}, { timeoutMs: ctx.settings.stepTimeoutMs }));
      // The plugin may close the connection before the answer arrives; only a refusal is wrong.
      if (!answer.ok && answer.error.codeName === "UNIMPLEMENTED")
        fail(`plugin.GRPCController/Shutdown: expected OK, got ${describeOutcome(answer.error)}`);
      await expectCleanExit(plugin, handshake.address, "GRPCController/Shutdown");
    },
  },
  {
    category: "protocol",
    name: "SIGTERM makes it exit and remove its socket",
    usesInfo: false,
    async run(ctx) {
      const { plugin, handshake } = await serving(ctx);
      plugin.child.kill("SIGTERM");
      await expectCleanExit(plugin, handshake.address, "SIGTERM");
    },
  },
  {
    category: "protocol",
    name: "SIGINT is ignored (the host owns the lifecycle)",
    usesInfo: false,
    async run(ctx) {
      const { plugin, handshake } = await serving(ctx);
      plugin.child.kill("SIGINT");
      const health = createTypedClient(HealthService, channelTo(ctx, handshake.address));
      const answer = await outcome(health.check({ service: "plugin" }, { timeoutMs: ctx.settings.stepTimeoutMs }));
      if (plugin.exit) fail(`after SIGINT: expected the plugin to keep serving, it ${plugin.describeExit()}`);
      if (!answer.ok) fail(`after SIGINT: expected health to answer, got ${describeOutcome(answer.error)}`);
    },
  },
  {
    category: "protocol",
    name: "exits and removes its socket when its host dies",
    usesInfo: false,
    async run(ctx) {
      await exitsWithItsHost(ctx);
    },
  },
];

/**
 * A stand-in host (a Node process) starts the plugin with its stdout passed
 * through to the kit and its pid on fd 3, then is SIGKILLed. No stdin
 * lifeline is asked for: the plugin must see the death as go-plugin's
 * plugins do, by its parent pid changing.
 */
const STAND_IN_HOST = `
const { spawn } = require("node:child_process");
const { writeSync } = require("node:fs");
const child = spawn(process.argv[1], [], { stdio: ["ignore", "inherit", "inherit"] });
writeSync(3, child.pid + "\\n");
setInterval(() => {}, 1000);
`;

async function exitsWithItsHost(ctx: CheckContext): Promise<void> {
  const socketDir = await privateSocketDir(ctx);
  const host = spawn(process.execPath, ["-e", STAND_IN_HOST, ctx.settings.executable], {
    env: pluginEnv(ctx, { socketDir }),
    stdio: ["ignore", "pipe", "pipe", "pipe"],
  });
  let pidText = "";
  (host.stdio[3] as Readable).setEncoding("utf8").on("data", (d: string) => (pidText += d));
  const view = new RawPlugin(host, ctx.left);
  ctx.defer(`kill stand-in host pid ${host.pid}`, () => view.kill());
  const line = await view.firstLine(ctx.settings.stepTimeoutMs);
  const pid = Number(pidText.trim());
  if (Number.isInteger(pid) && pid > 0) {
    ctx.defer(`kill orphaned plugin pid ${pid}`, async () => {
      if (processAlive(pid)) process.kill(pid, "SIGKILL");
    });
  }
  if (line === undefined)
    fail(
      `expected a handshake from the plugin under a stand-in host, got none; stderr ${quote(view.stderr.slice(-400))}`,
    );
  const handshake = parseHandshake(line);
  await view.kill();
  const deadline = Date.now() + EXIT_WAIT_MS;
  while (processAlive(pid) && Date.now() < deadline) await ctx.pause(50);
  if (processAlive(pid))
    fail(
      `after its host was SIGKILLed: expected the plugin (pid ${pid}) to exit, it still runs after ${EXIT_WAIT_MS / 1000} s`,
    );
  if (!(await gone(handshake.address)))
    fail(`after its host was SIGKILLed: expected the socket ${handshake.address} to be removed, it is still there`);
}
