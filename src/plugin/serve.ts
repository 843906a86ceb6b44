// serve(): everything a driver plugin does besides being a driver. Checks the
// cookie, negotiates the version, puts the driver, health, controller, stdio
// and reflection services on a private Unix socket, prints the handshake and
// then watches for the end (lifecycle.ts, host-watch.ts).
import { Server } from "@grpc/grpc-js";
import { DriverServiceService, type Capability } from "../../generated/driverplug/driver/v1/driver.js";
import { HealthService } from "../../generated/grpc/health/v1/health.js";
import { GRPCControllerService } from "../../generated/plugin/grpc_controller.js";
import { GRPCStdioService } from "../../generated/plugin/grpc_stdio.js";
import {
  DEFAULT_COOKIE,
  DRIVERPLUG_IDLE_EXIT_MS,
  DRIVERPLUG_STDIN_LIFELINE,
  IDLE_EXIT_HEALTH_SERVICE,
  PLUGIN_MULTIPLEX_GRPC,
  PLUGIN_UNIX_SOCKET_DIR,
  type MagicCookie,
} from "../protocol/env.js";
import { CORE_PROTOCOL_VERSION, formatHandshake } from "../protocol/handshake.js";
import {
  checkByteSize,
  DEFAULT_MAX_MESSAGE_BYTES,
  MAX_RECEIVE_WINDOW_BYTES,
  PLUGIN_RECEIVE_WINDOW_BYTES,
} from "../protocol/transport-limits.js";
import { PROTOCOL_VERSIONS } from "../protocol/versions.js";
import { transportSecurity, type AutoMtlsProvider } from "./auto-mtls.js";
import { controllerHandlers } from "./controller-service.js";
import { cookieProblem } from "./cookie.js";
import { checkDriverMethods } from "./driver-methods.js";
import { HealthState, healthHandlers } from "./health-service.js";
import { watchHost } from "./host-watch.js";
import { IdleExit, idleExitMiddleware, idleExitMsFrom } from "./idle-exit.js";
import { PluginLifecycle } from "./lifecycle.js";
import { createLogger, type Logger } from "./logger.js";
import { MachineInstances, type DriverSource } from "./machine-instances.js";
import { MutationQueue } from "./mutation-queue.js";
import { composeServerMiddleware, type ServerMiddleware } from "./server-middleware.js";
import { writeRawStderr, writeRawStdout } from "./process-output.js";
import { addLazyReflection } from "./reflection-service.js";
import { raiseReceiveWindow } from "./server-receive-window.js";
import { DriverServiceDefinition } from "../../generated/driverplug/driver/v1/driver.js";
import { messageTypesOf } from "../protocol/message-types.js";
import { addAdaptedService } from "./service-adapter.js";
import { listenOnPrivateSocket } from "./socket-listener.js";
import { processStdio } from "./stdio-capture.js";
import { stdioHandlers } from "./stdio-service.js";
import { chooseVersion } from "./version-choice.js";

export interface ServeOptions {
  /** The driver's name: `driverplug-driver-<name>`, and the socket file's prefix. */
  name: string;
  version: string;
  /** The driver, or `(machine) => driver` for one instance per machine (machine-instances.ts). */
  driver: DriverSource;
  /** Defaults to the capabilities implied by the optional methods the driver implements. */
  capabilities?: readonly Capability[];
  /** Defaults to driverplug's DRIVERPLUG_PLUGIN=machine-driver. */
  cookie?: MagicCookie;
  /** App protocol versions this driver speaks; defaults to this release's. */
  versions?: readonly number[];
  /** Largest gRPC message the plugin sends or accepts (default 64 MiB: a whole config is one message). */
  maxMessageBytes?: number;
  /** HTTP/2 receive window per stream and per connection (default 16 MiB; grpc-js's is 64 KiB). */
  receiveWindowBytes?: number;
  /** How long open calls get after Shutdown or SIGTERM before they are cut. */
  shutdownGraceMs?: number;
  /** Replaces the built-in AutoMTLS (a fresh self-signed certificate; see auto-mtls.ts). */
  autoMtls?: AutoMtlsProvider;
  /** Defaults to a logger for module `<name>`; the driver may log through it too. */
  logger?: Logger;
  /**
   * Around every call the plugin serves (DriverService and the plugin
   * services), the first listed outermost, outside the mutation queue; see
   * ServerMiddleware. `otelServerMiddleware()` from driverplug/otel is one.
   */
  middleware?: readonly ServerMiddleware[];
  /**
   * How long Kill waits for the mutating call it aborted to settle before it
   * runs anyway (default 10 s): the aborted handler's cleanup and Kill never
   * overlap within it.
   */
  killWaitMs?: number;
  /**
   * With a driver factory: the most machines with a live instance (default
   * 1000); a call naming one more fails RESOURCE_EXHAUSTED.
   */
  maxMachines?: number;
  /**
   * With a driver factory: an instance with no config set and no call in
   * flight is freed after this long idle (default 60 s); so is any instance
   * right after its machine's Remove succeeds.
   */
  machineIdleMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface ServingPlugin {
  socketPath: string;
  appVersion: number;
  logger: Logger;
  /** Graceful stop, as on SIGTERM; the process exits afterwards. */
  stop(why?: string): void;
}

/** Streams one connection may have open at once; a host needs a handful, a busy one a few hundred. */
export const MAX_CONCURRENT_STREAMS = 1000;

/** The grpc-js server with the message size limits and receive window asked for. */
function transportServer(options: ServeOptions, log: Logger, idle: IdleExit | undefined): Server {
  const maxMessage = checkByteSize("serve()'s maxMessageBytes", options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
  const window = checkByteSize(
    "serve()'s receiveWindowBytes",
    options.receiveWindowBytes ?? PLUGIN_RECEIVE_WINDOW_BYTES,
    MAX_RECEIVE_WINDOW_BYTES,
  );
  const server = new Server({
    "grpc.max_receive_message_length": maxMessage,
    "grpc.max_send_message_length": maxMessage,
    // Nothing serves channelz here, and its per-call bookkeeping is paid on every call.
    "grpc.enable_channelz": 0,
    // Per connection: a client opening streams without end cannot hold the plugin's memory.
    "grpc.max_concurrent_streams": MAX_CONCURRENT_STREAMS,
  });
  raiseReceiveWindow(server, window, log, idle?.session);
  return server;
}

/** Options renamed so serve(), launch() and reattach() agree; a JavaScript caller gets told. */
const RENAMED: Readonly<Record<string, string>> = { log: "logger", protocolVersions: "versions" };

export async function serve(options: ServeOptions): Promise<ServingPlugin> {
  for (const [old, now] of Object.entries(RENAMED)) {
    if (old in options) throw new TypeError(`serve(): the option "${old}" is now called "${now}"`);
  }
  const parentPid = process.ppid;
  const env = options.env ?? process.env;
  const problem = cookieProblem(options.cookie ?? DEFAULT_COOKIE, env, options.name);
  if (problem) {
    processStdio.uninstall();
    writeRawStderr(problem);
    process.exit(1);
  }
  const log = options.logger ?? createLogger(options.name);
  // A warm plugin (its host asked for an idle exit) ends by itself: see idle-exit.ts.
  const idleMs = idleExitMsFrom(env[DRIVERPLUG_IDLE_EXIT_MS]);
  let idle: IdleExit | undefined;
  const middleware = composeServerMiddleware(options.middleware);
  // Nothing may reach stdout ahead of the handshake: capture runs from here on (or
  // since driverplug/plugin/capture-stdout was imported); what it kept is logged now.
  const capture = processStdio;
  capture.install();
  capture.attach(log.child("stdio"));
  const lifecycle = new PluginLifecycle(log, options.shutdownGraceMs);
  lifecycle.install();
  try {
    const implementer = `driver "${options.name}"`;
    const queueLog = log.child("queue");
    const machines = new MachineInstances(options.driver, options, {
      newGate: () => new MutationQueue({ killWaitMs: options.killWaitMs, log: queueLog }),
      maxMachines: options.maxMachines,
      idleMs: options.machineIdleMs,
      log: log.child("machines"),
    });
    lifecycle.onStop(() => machines.close());
    checkDriverMethods(machines.defaultDriver, DriverServiceService, implementer);
    const appVersion = chooseVersion(options.versions ?? PROTOCOL_VERSIONS, env);
    const security = await transportSecurity(env, options.autoMtls);
    const stop = (why: string) => lifecycle.requestStop(why);
    if (idleMs !== undefined) {
      idle = new IdleExit(idleMs, () => {
        // Nobody is left to remove the private dir the host made for us.
        if (env[PLUGIN_UNIX_SOCKET_DIR]) lifecycle.removeDirOnExit(env[PLUGIN_UNIX_SOCKET_DIR]);
        stop(`idle for ${idleMs} ms (DRIVERPLUG_IDLE_EXIT_MS) with no host connected`);
      });
      lifecycle.onStop(() => idle?.stop());
    }
    // The idle exit's count is the outermost stage: a call is in flight from its first step.
    const stages = idle
      ? composeServerMiddleware([idleExitMiddleware(idle), ...(options.middleware ?? [])])
      : middleware;
    const server = transportServer(options, log, idle);
    const health = new HealthState();
    addAdaptedService(server, DriverServiceService, machines.handlers, {
      log,
      implementer,
      gate: machines.gate,
      responseTypes: messageTypesOf(DriverServiceService, DriverServiceDefinition, "responseType"),
      middleware: stages,
    });
    const healthNames = idle ? [IDLE_EXIT_HEALTH_SERVICE] : [];
    addAdaptedService(server, HealthService, healthHandlers(health, healthNames), {
      log,
      implementer,
      middleware: stages,
    });
    addAdaptedService(server, GRPCControllerService, controllerHandlers(stop), {
      log,
      implementer,
      middleware: stages,
    });
    addAdaptedService(server, GRPCStdioService, stdioHandlers(capture), { log, implementer, middleware: stages });
    addLazyReflection(server);
    const { path } = await listenOnPrivateSocket(server, {
      driverName: options.name,
      credentials: security.credentials,
      env,
      log,
      onBound: (bound) => lifecycle.socketBound(bound),
    });
    lifecycle.serving(server, health);
    writeRawStdout(
      `${formatHandshake({
        coreVersion: CORE_PROTOCOL_VERSION,
        appVersion,
        network: "unix",
        address: path,
        protocol: "grpc",
        serverCert: security.serverCert,
        // This plugin serves no broker, so it never multiplexes; say so only when asked.
        multiplex: env[PLUGIN_MULTIPLEX_GRPC] ? false : undefined,
      })}\n`,
    );
    const onHostGone = (why: string) => {
      // Nobody is left to remove the private dir the host made for us.
      if (env[PLUGIN_UNIX_SOCKET_DIR]) lifecycle.removeDirOnExit(env[PLUGIN_UNIX_SOCKET_DIR]);
      stop(why);
    };
    // A warm plugin outlives the host that launched it by design; its idle exit is its end.
    if (!idle)
      lifecycle.onStop(watchHost({ parentPid, stdinLifeline: env[DRIVERPLUG_STDIN_LIFELINE] === "1", onHostGone }));
    lifecycle.onStop(() => capture.uninstall());
    log.debug("plugin serving", {
      path,
      appVersion,
      version: options.version,
      ...(idle ? { idleExitMs: idleMs } : {}),
    });
    return { socketPath: path, appVersion, logger: log, stop: (why = "stop() was called") => stop(why) };
  } catch (err) {
    return lifecycle.failStart(err);
  }
}
