// launch(): starts a driver plugin and returns a handle once its handshake
// passed every check. The plugin gets the cookie, the versions, its own
// private socket dir and a stdin lifeline in its environment only; any
// failure before the handshake kills and reaps it and says what happened.
import { credentials, Client, type ChannelOptions } from "@grpc/grpc-js";
import { spawn, type ChildProcess } from "node:child_process";
import type { DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { hostDriverService } from "./driver-service.js";
import {
  DEFAULT_COOKIE,
  DRIVERPLUG_IDLE_EXIT_MS,
  DRIVERPLUG_LOG_LEVEL,
  DRIVERPLUG_STDIN_LIFELINE,
  PLUGIN_CLIENT_CERT,
  PLUGIN_MULTIPLEX_GRPC,
  PLUGIN_PROTOCOL_VERSIONS,
  PLUGIN_UNIX_SOCKET_DIR,
  PLUGIN_UNIX_SOCKET_GROUP,
  type MagicCookie,
} from "../protocol/env.js";
import type { ServiceDefinitionShape } from "../protocol/service-types.js";
import { PROTOCOL_VERSIONS } from "../protocol/versions.js";
import { PLUGIN_ENV_ALLOWLIST } from "./plugin-env.js";
import { resolveSocketGroup } from "../socket/socket-group.js";
import { driverCallDefaults, type CallDefaults } from "./call-options.js";
import { composeClientMiddleware, type ClientMiddleware } from "./client-middleware.js";
import { assertPluginName, findPlugin, type FindOptions } from "./find-plugin.js";
import { checkPinnedDigest } from "./plugin-executable.js";
import { awaitHandshake, drained, explainAfterHandshake } from "./handshake-wait.js";
import { guardPlugin } from "./host-exit-guard.js";
import { stderrLogger, type Logger } from "./host-logger.js";
import type { LogLevel } from "../protocol/log-line.js";
import { LaunchError } from "./launch-error.js";
import { PluginHandle, type CloseOptions } from "./plugin-handle.js";
import { PluginOutput } from "./plugin-output.js";
import { ChildPluginProcess } from "./plugin-process.js";
import { defaultSocketBaseDir, makePrivateDir, removePrivateDir, removePrivateDirSync } from "./private-socket-dir.js";
import { makeClientCertificate, pinnedServerCertificate, tlsChannel, type ClientCertificate } from "./client-tls.js";
import { checkHandshake } from "./trusted-address.js";
import { pinSocket, type PinnedSocket } from "./pinned-socket.js";
import { transportChannelOptions, type TransportOptions } from "./channel-options.js";

export interface LaunchOptions<S extends ServiceDefinitionShape = typeof DriverServiceService>
  extends FindOptions, CloseOptions, TransportOptions {
  /** Run this executable instead of looking the name up. */
  executable?: string;
  /** Run the plugin only if its executable's SHA-256 (hex) is this, as go-plugin's SecureConfig. */
  sha256?: string;
  args?: readonly string[];
  /**
   * Variables for the plugin, on top of the few it inherits from the host
   * (PLUGIN_ENV_ALLOWLIST: PATH, HOME, locale, TMPDIR, XDG_*, TZ, DRIVERPLUG_TRACE).
   */
  env?: Record<string, string>;
  /**
   * Names of further host variables the plugin may inherit (e.g. a
   * hypervisor's LIBVIRT_DEFAULT_URI). NODE_OPTIONS passes only if named here:
   * `--inspect` in it would open a debugger port any local user can reach.
   */
  inheritEnv?: readonly string[];
  cookie?: MagicCookie;
  /** App protocol versions the host speaks; default PROTOCOL_VERSIONS. */
  versions?: readonly number[];
  /** How long the plugin has to print its handshake; default 30 s. */
  startTimeoutMs?: number;
  /** Where private socket dirs are made; default $XDG_RUNTIME_DIR/driverplug or <tmpdir>/driverplug-<uid>. */
  socketBaseDir?: string;
  /**
   * Group mode (go-plugin's PLUGIN_UNIX_SOCKET_GROUP): a group name or gid whose
   * members may connect to the socket (0660), e.g. a monitoring agent.
   */
  socketGroup?: string | number;
  logger?: Logger;
  /** The service the typed client speaks; default DriverService. */
  service?: S;
  callDefaults?: CallDefaults;
  /**
   * Around every call of the handle's client (and its forMachine() clients):
   * the first listed is the outermost. See ClientMiddleware.
   */
  middleware?: readonly ClientMiddleware[];
  /**
   * go-plugin's AutoMTLS: the host makes a client certificate, the plugin must
   * require it and offer its own, which the host pins. Protects the socket
   * from other processes of the same user, at ~20 ms of start-up.
   */
  autoMtls?: boolean;
  /**
   * A warm plugin: the plugin is told (DRIVERPLUG_IDLE_EXIT_MS) to exit by
   * itself after this many milliseconds with no connection, and not to follow
   * this host's death. `handle.detach()` then leaves it running for a later
   * `reattach()`. Only plugins whose `handle.honoursIdleExit()` says true
   * (driverplug's serve()) do so: close any other as usual.
   */
  idleExitMs?: number;
}

const DEFAULT_START_TIMEOUT_MS = 30_000;

/**
 * Starts plugin `name` and resolves once it serves. The client speaks
 * DriverService, or `options.service`. (The DriverService overload comes last
 * so that `ReturnType<typeof launch>` names the usual handle.)
 */
export function launch<S extends ServiceDefinitionShape>(
  name: string,
  options: LaunchOptions<S> & { service: S },
): Promise<PluginHandle<S>>;
export function launch(name: string, options?: LaunchOptions): Promise<PluginHandle>;
export async function launch<S extends ServiceDefinitionShape>(
  name: string,
  options: LaunchOptions<S> = {},
): Promise<PluginHandle<S>> {
  assertPluginName(name);
  // Checked before anything starts: a bad size is the caller's mistake, not the plugin's.
  const transport = transportChannelOptions(options);
  composeClientMiddleware(options.middleware);
  if (options.idleExitMs !== undefined && !(Number.isSafeInteger(options.idleExitMs) && options.idleExitMs > 0))
    throw new TypeError(
      `launch(): idleExitMs must be a positive whole number of milliseconds, not ${options.idleExitMs}`,
    );
  const executable = options.executable ?? (await findPlugin(name, options)).path;
  if (options.sha256 !== undefined) {
    const mismatch = await checkPinnedDigest(executable, options.sha256);
    if (mismatch) throw new LaunchError("untrusted-executable", `plugin ${name} was not run: ${mismatch}`);
  }
  const versions = options.versions ?? PROTOCOL_VERSIONS;
  const gid = socketGroupId(options.socketGroup);
  const privateDir = (await makePrivateDir(options.socketBaseDir ?? defaultSocketBaseDir(process.env, gid), gid)).path;
  const logger = options.logger ?? stderrLogger();
  const clientCert = options.autoMtls ? await makeClientCertificate() : undefined;

  let child: ChildProcess;
  try {
    const env = pluginEnv(options, versions, privateDir, gid, logger.level);
    if (clientCert) env[PLUGIN_CLIENT_CERT] = clientCert.certPem;
    // Detached: the plugin leads a process group of its own, which close() ends with it (process-group.ts).
    // Node's detached is setsid(), so on Linux the plugin is also a scheduler autogroup of its own; an A/B
    // with a setpgid-only shim showed no difference in call latency (bench/README.md).
    child = spawn(executable, options.args ?? [], { env, stdio: ["pipe", "pipe", "pipe"], detached: true });
  } catch (err) {
    await removePrivateDir(privateDir);
    throw new LaunchError("spawn-failed", `cannot start plugin ${name} (${executable}): ${(err as Error).message}`, {
      cause: err,
    });
  }
  // Until a handle owns it, a host exit must still take the child down.
  const killNow = () => {
    proc.signal("SIGKILL");
    removePrivateDirSync(privateDir);
  };
  const unguard = guardPlugin({ killNow, close: async () => killNow() });
  const output = new PluginOutput(name, logger, child.stdout!, child.stderr!);
  const proc = new ChildPluginProcess(name, child, output.tail);
  // The lifeline pipe is only ever closed, never written; EPIPE after the plugin's death is expected.
  child.stdin!.on("error", () => {});

  let pin: PinnedSocket | undefined;
  try {
    const handshake = await awaitHandshake(
      name,
      executable,
      child,
      proc,
      output,
      options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
    );
    const socketPath = await checkHandshake(handshake, versions, privateDir, gid, clientCert !== undefined).catch(
      async (err: unknown) => {
        throw await explainAfterHandshake(err, name, executable, child, proc, output);
      },
    );
    // Every connection goes to the socket just checked, even if the path is swapped later.
    pin = pinSocket(socketPath);
    const channel = clientCert
      ? tlsClient(pin.address, handshake.serverCert, clientCert, transport)
      : new Client(pin.address, credentials.createInsecure(), transport);
    // Start connecting now (the socket is listening), so the first call need not wait for it.
    channel.getChannel().getConnectivityState(true);
    const handle = new PluginHandle({
      name,
      process: proc,
      channel,
      record: {
        format: 1,
        driver: name,
        pid: proc.pid,
        address: socketPath,
        appVersion: handshake.appVersion,
        privateDir,
        ...(gid === undefined ? {} : { gid }),
        ...(clientCert ? { autoMtls: true as const } : {}),
      },
      service: (options.service ?? hostDriverService) as S,
      callDefaults: options.callDefaults ?? driverCallDefaults,
      middleware: options.middleware,
      close: { graceMs: options.graceMs, termGraceMs: options.termGraceMs },
      release: async () => {
        // The process is gone: its output ends as soon as it is read (a grandchild
        // holding the pipes open gets a short wait, then they are cut).
        child.stdin!.destroy();
        await drained(output);
        for (const stream of [child.stdout, child.stderr]) stream?.destroy();
      },
      unpin: () => pin?.release(),
      died: proc.exited,
      guard: true,
      ...(options.idleExitMs !== undefined
        ? {
            // A warm plugin left running: this host lets go of its pipes and its child handle.
            letGo: () => {
              child.stdin!.destroy();
              for (const stream of [child.stdout, child.stderr]) stream?.destroy();
              child.unref();
            },
          }
        : {}),
    });
    unguard();
    return handle;
  } catch (err) {
    pin?.release();
    proc.signal("SIGKILL");
    // A child that never started (spawn error) may never emit 'exit'.
    if (child.pid !== undefined) {
      await proc.exited;
      await proc.endLeftovers(0);
    }
    child.stdin!.destroy();
    await removePrivateDir(privateDir);
    unguard();
    throw err;
  }
}

function tlsClient(
  address: string,
  serverCertField: string,
  clientCert: ClientCertificate,
  transport: ChannelOptions,
): Client {
  let serverPem: string;
  try {
    serverPem = pinnedServerCertificate(serverCertField);
  } catch (err) {
    throw new LaunchError(
      "bad-handshake",
      `the plugin's handshake is unusable for AutoMTLS: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const tls = tlsChannel(serverPem, clientCert);
  return new Client(address, tls.credentials, { ...transport, ...tls.options });
}

function socketGroupId(group: string | number | undefined): number | undefined {
  if (group === undefined) return undefined;
  try {
    return resolveSocketGroup(String(group));
  } catch (err) {
    throw new LaunchError("socket-dir", (err as Error).message, { cause: err });
  }
}

function pluginEnv(
  options: LaunchOptions<ServiceDefinitionShape>,
  versions: readonly number[],
  privateDir: string,
  gid: number | undefined,
  logLevel: LogLevel | undefined,
): NodeJS.ProcessEnv {
  const cookie = options.cookie ?? DEFAULT_COOKIE;
  const inherit = new Set(options.inheritEnv ?? []);
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && (inherit.has(key) || PLUGIN_ENV_ALLOWLIST.some((re) => re.test(key)))) env[key] = value;
  }
  Object.assign(env, options.env);
  // Given by a caller that is itself a plugin's host, these would change the handshake we expect.
  delete env[PLUGIN_CLIENT_CERT];
  delete env[PLUGIN_MULTIPLEX_GRPC];
  delete env[PLUGIN_UNIX_SOCKET_GROUP];
  delete env[DRIVERPLUG_IDLE_EXIT_MS];
  delete env[DRIVERPLUG_STDIN_LIFELINE];
  // The plugin writes nothing the host's logger would drop (an explicit env value wins).
  if (logLevel !== undefined && options.env?.[DRIVERPLUG_LOG_LEVEL] === undefined) env[DRIVERPLUG_LOG_LEVEL] = logLevel;
  env[cookie.key] = cookie.value;
  env[PLUGIN_PROTOCOL_VERSIONS] = versions.join(",");
  env[PLUGIN_UNIX_SOCKET_DIR] = privateDir;
  // A warm plugin outlives this host: its end is its idle exit, not the host's pipe.
  if (options.idleExitMs !== undefined) env[DRIVERPLUG_IDLE_EXIT_MS] = String(options.idleExitMs);
  else env[DRIVERPLUG_STDIN_LIFELINE] = "1";
  if (gid !== undefined) env[PLUGIN_UNIX_SOCKET_GROUP] = String(gid);
  return env;
}
