// `driverplug status <machine>` on a warm plugin, without the CLI's command
// parser, grpc-js or node:http2 (its calls go through h2-client.ts): what a
// Node CLI can still cut from a
// command that must start Node. It runs the same steps as the full path,
// through the same modules: the machine's record (machine-store.ts), the
// warm record and every check before reuse (warm-record.ts, the plugin's
// identity, reattach()'s checks of the record, the socket pinned as checked,
// the plugin's answer that it ends when idle), the query on a plugin of its
// own when another command holds the machine's lock, SetConfig (sent while
// the health check is answered) then GetState naming the machine, and the
// record touched as the plugin is let go of.
//
// It only ever answers when all of that went as expected. Anything else (no
// warm plugin, a check that fails, a plugin that answers with an error,
// options it does not handle) returns undefined before a byte is printed, and
// the full CLI runs the command from the start and explains what it finds.
import { GetStateRequest, GetStateResponse, SetConfigRequest } from "../../../generated/driverplug/driver/v1/driver.js";
import {
  HealthCheckRequest,
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
} from "../../../generated/grpc/health/v1/health.js";
import { jsonConfig } from "../../host/config-codec.js";
import { findPlugin } from "../../host/find-plugin.js";
import { pinSocket } from "../../host/pinned-socket.js";
import { verifyReattachRecord } from "../../host/reattach-verify.js";
import { DRIVERPLUG_TRACE, IDLE_EXIT_CHECK_MS, IDLE_EXIT_HEALTH_SERVICE } from "../../protocol/env.js";
import { MACHINE_METADATA_KEY } from "../../protocol/machine-key.js";
import { stateName } from "../../protocol/state-names.js";
import { printJson, println, type Io } from "../cli-context.js";
import { lockPaths } from "../lock-paths.js";
import { isValidMachineName } from "../machine-name.js";
import { MachineStore, storeRoot } from "../machine-store.js";
import { passEnvFrom, pluginDirsFrom } from "../plugin-env-settings.js";
import { environmentDigest, sameFiles } from "../plugin-identity.js";
import { ensurePluginsDir, readRecord, touchRecord, warmIdleMs } from "../warm-record.js";
import { writeLockListed } from "./lock-listed.js";
import { H2Connection } from "./h2-client.js";

/** Set to 1, the CLI always takes its full path (for comparing the two, and as a way out). */
export const NO_FAST_PATH_ENV = "DRIVERPLUG_NO_FAST_PATH";

/**
 * How long SetConfig and GetState may take here. A warm plugin answers in
 * milliseconds; one that does not answer in this time is left to the full
 * CLI, which waits for it as long as the command's --timeout says and reports
 * it. So a warm plugin that hangs costs a `status` at most IDLE_EXIT_CHECK_MS and
 * this more than the full path alone would.
 */
const FAST_CALLS_MS = 5_000;

const HEALTH_CHECK = "/grpc.health.v1.Health/Check";
const SET_CONFIG = "/driverplug.driver.v1.DriverService/SetConfig";
const GET_STATE = "/driverplug.driver.v1.DriverService/GetState";

/** The command line it handles: `status <machine>`, with or without `--json`. */
export function fastStatusArgs(argv: readonly string[]): { machine: string; json: boolean } | undefined {
  const json = argv.includes("--json");
  const words = argv.filter((a) => a !== "--json");
  if (argv.filter((a) => a === "--json").length > 1 || words.length !== 2 || words[0] !== "status") return undefined;
  const machine = words[1]!;
  return isValidMachineName(machine) ? { machine, json } : undefined;
}

/** Answers `status` through a warm plugin and returns the exit code, or undefined: take the full path. */
export async function fastStatus(
  argv: readonly string[],
  io: Io,
  /** Called just before the answer is printed. */
  beforePrint: () => void = () => undefined,
): Promise<number | undefined> {
  const args = fastStatusArgs(argv);
  if (args === undefined || io.env[NO_FAST_PATH_ENV] === "1" || io.env[DRIVERPLUG_TRACE]) return undefined;
  try {
    if (warmIdleMs(argv, io.env) === 0) return undefined;
  } catch {
    return undefined;
  }
  const state = await queryState(args.machine, io.env).catch(() => undefined);
  if (state === undefined) return undefined;
  beforePrint();
  if (args.json) printJson(io, { name: args.machine, driver: state.driver, state: stateName(state.state) });
  else println(io, stateName(state.state));
  return 0;
}

async function queryState(
  machine: string,
  env: NodeJS.ProcessEnv,
): Promise<{ driver: string; state: number } | undefined> {
  const store = new MachineStore(storeRoot(env));
  const record = await store.read(machine);
  const driver = record.driver;
  // What launchDriver() gives warm.acquire(): the same plugin dirs and inherited names.
  const [found, warm] = await Promise.all([
    findPlugin(driver, { pluginDirs: pluginDirsFrom(env) }),
    ensurePluginsDir(store).then(() => readRecord(store, driver, false)),
  ]);
  if (warm === undefined) return undefined;
  // WarmPlugins.reuse(): the same executable and environment, the same files, reattach()'s checks.
  if (warm.executable !== found.path || warm.env !== environmentDigest(process.env, passEnvFrom(env))) return undefined;
  const { socketPath } = await verifyReattachRecord(warm.reattach);
  // Connected (to the socket just checked) and asked whether it still ends when idle while the
  // remaining checks run: the plugin's files, and the machine's lock (a query of a machine
  // another command is changing gets a plugin of its own: the full path's).
  const pin = pinSocket(socketPath);
  const session = new H2Connection(pin.address.slice("unix:".length));
  try {
    const health = session.call(
      HEALTH_CHECK,
      HealthCheckRequest.encode({ service: IDLE_EXIT_HEALTH_SERVICE }).finish(),
      {
        timeoutMs: IDLE_EXIT_CHECK_MS,
      },
    );
    // Not awaited on every way out: its failure is then one more reason to decline, not an unhandled one.
    health.catch(() => undefined);
    const [same, locked] = await Promise.all([
      sameFiles(warm.files),
      writeLockListed(lockPaths(store, machine).lockfilePath),
    ]);
    // Undefined (cannot tell whether the machine is locked) declines too.
    if (!same || locked !== false) return undefined;
    const deadline = Date.now() + FAST_CALLS_MS;
    const call = () => ({ timeoutMs: deadline - Date.now(), metadata: { [MACHINE_METADATA_KEY]: machine } });
    const configJson = jsonConfig().encode(record.config);
    // Sent behind the health check, not after its answer: a SetConfig changes nothing but which
    // config the plugin's instance for this machine holds, and the plugin passed every check of
    // its identity already; only its use waits for the answer that it ends when idle.
    const setConfig = session.call(SET_CONFIG, SetConfigRequest.encode({ configJson }).finish(), call());
    setConfig.catch(() => undefined);
    if (HealthCheckResponse.decode(await health).status !== HealthCheckResponse_ServingStatus.SERVING) return undefined;
    await setConfig;
    const answer = GetStateResponse.decode(await session.call(GET_STATE, GetStateRequest.encode({}).finish(), call()));
    await touchRecord(store, driver);
    return { driver, state: answer.state };
  } finally {
    // Every call has ended: the connection goes at once.
    session.destroy();
    pin.release();
  }
}
