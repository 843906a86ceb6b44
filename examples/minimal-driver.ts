// The smallest useful driver plugin: a machine that lives in this process's
// memory. It shows what a driver author writes: the DriverService methods as
// async functions (streams as async generators) that may answer with partial
// messages, DriverError for statuses a host acts on, the JSON config codec,
// a middleware around every call, and one call to serve(). Everything comes
// from driverplug/plugin. The fake
// driver (src/drivers/fake) is the complete version, with a config schema,
// typed flags and a state file.
//
// Run it through a host, e.g.:
//   launch("minimal", { executable: process.execPath, args: ["dist/examples/minimal-driver.js"] })
import {
  createLogger,
  defineDriver,
  failedPrecondition,
  invalidArgument,
  jsonConfig,
  notFound,
  serve,
  State,
  type ServerMiddleware,
} from "../src/plugin/index.js";

const log = createLogger("minimal");

interface Config {
  machineName: string;
}

const codec = jsonConfig<Config>((value) => {
  const name = (value as { machineName?: unknown } | null)?.machineName;
  if (typeof name !== "string" || name === "") throw invalidArgument('config needs a "machineName" string');
  return { machineName: name };
});

let config: Config | undefined;
let state = State.STATE_NONE_UNSPECIFIED;

function requireMachine(): void {
  if (!config) throw failedPrecondition("no config: call SetConfig first");
  if (state === State.STATE_NONE_UNSPECIFIED)
    throw notFound(`machine ${config.machineName} does not exist: create it first`);
}

// defineDriver gives every method its request and context types from the contract.
const driver = defineDriver({
  async setConfig({ configJson }) {
    config = codec.decode(configJson);
    return {};
  },
  async getConfig() {
    if (!config) throw failedPrecondition("no config: call SetConfig first");
    return { configJson: codec.encode(config) };
  },
  async *create(_request, { signal }) {
    if (!config) throw failedPrecondition("no config: call SetConfig first");
    yield { progress: { step: "disk", message: "Making the disk", percent: 50 } };
    signal.throwIfAborted();
    state = State.STATE_STOPPED;
    yield { progress: { step: "done", message: `Machine ${config.machineName} created`, percent: 100 } };
  },
  async *start() {
    requireMachine();
    state = State.STATE_RUNNING;
    yield { progress: { step: "boot", message: "Running", percent: 100 } };
  },
  async stop() {
    requireMachine();
    state = State.STATE_STOPPED;
    return {};
  },
  async kill() {
    requireMachine();
    state = State.STATE_STOPPED;
    return {};
  },
  async remove() {
    state = State.STATE_NONE_UNSPECIFIED;
    return {};
  },
  async getState() {
    return { state };
  },
  async getIp() {
    requireMachine();
    if (state !== State.STATE_RUNNING) throw failedPrecondition("the machine is not running: start it first");
    return { ip: "192.0.2.1" };
  },
});

/** Around every call the plugin serves: one debug line per failed call, with its method. */
const failures: ServerMiddleware = async function* (call, ctx) {
  try {
    return yield* call.next(call.request, ctx);
  } catch (err) {
    log.debug("call failed", { method: call.method, error: (err as Error).message });
    throw err;
  }
};

// Not awaited: serve() exits the process itself if it cannot start, and an entry
// without top-level await can be bundled by scripts/bundle-plugin.mjs.
void serve({ name: "minimal", version: "1.0.0", driver, logger: log, middleware: [failures] });
