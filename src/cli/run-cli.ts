// Runs one driverplug command line and returns its exit code. The driver of a
// `create` is launched before parsing, since its flags (from GetCreateFlags)
// are options of the command; the same plugin then does the create.
import { CommanderError } from "commander";
import type { CliContext, Io } from "./cli-context.js";
import { EXIT_USAGE, ExitWith } from "./cli-error.js";
import type { PreparedDriver } from "./commands/create.js";
import { launchDriver, type DriverHandle } from "./driver-launcher.js";
import { describeFailure } from "./error-message.js";
import { installInterrupt } from "./interrupt.js";
import { MachineStore, storeRoot } from "./machine-store.js";
import { optionalCall, unimplemented } from "./optional-call.js";
import { PluginPool } from "./plugin-pool.js";
import { buildProgram, commandPath, DEFAULT_LOCK_TIMEOUT_S } from "./program.js";

/** Global options that take a value, to skip when looking for the command. */
const VALUE_OPTIONS = new Set(["--lock-timeout"]);

/** The driver named by `create --driver <name>`, if this is a create command line. */
export function createDriverArg(argv: readonly string[]): string | undefined {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith("-")) i += VALUE_OPTIONS.has(argv[i]!) ? 2 : 1;
  if (argv[i] !== "create") return undefined;
  for (let j = i + 1; j < argv.length; j++) {
    const arg = argv[j]!;
    if (arg === "--") break;
    if (arg === "--driver") return argv[j + 1];
    if (arg.startsWith("--driver=")) return arg.slice("--driver=".length);
  }
  return undefined;
}

export interface RunHooks {
  /** Called with every plugin launched (the demo uses it to show the socket is removed). */
  onLaunch?(handle: DriverHandle): void;
}

export async function runCli(argv: readonly string[], io: Io, hooks: RunHooks = {}): Promise<number> {
  const interrupt = installInterrupt(io.stderr);
  let prepared: PreparedDriver | undefined;
  let lockTimeoutS = DEFAULT_LOCK_TIMEOUT_S;
  let commandLine = "driverplug";
  const launchOne = async (driver: string, signal?: AbortSignal, startTimeoutMs?: number) => {
    const settings = { env: io.env, stderr: io.stderr, ...(startTimeoutMs !== undefined ? { startTimeoutMs } : {}) };
    const handle = await launchDriver(driver, settings, signal ?? interrupt.signal);
    hooks.onLaunch?.(handle);
    return handle;
  };
  const ctx: CliContext = {
    plugins: new PluginPool(launchOne),
    io,
    store: new MachineStore(storeRoot(io.env)),
    signal: interrupt.signal,
    get lockTimeoutMs() {
      return lockTimeoutS * 1000;
    },
    get commandLine() {
      return commandLine;
    },
    launchDriver: launchOne,
  };
  try {
    const driver = createDriverArg(argv);
    if (driver !== undefined) {
      const handle = await ctx.launchDriver(driver);
      prepared = { handle, flags: [] };
      // GetCreateFlags is optional: a driver without it takes no flags.
      const answer = await optionalCall(handle.client.getCreateFlags({}, { signal: interrupt.signal }));
      prepared.flags = answer === unimplemented ? [] : answer.flags;
    }
    const program = buildProgram(() => ctx, prepared, {
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
    });
    program.hook("preAction", (_program, action) => {
      lockTimeoutS = (action.optsWithGlobals() as { lockTimeout: number }).lockTimeout;
      // The command and its operands, not its options: an option such as
      // --config may carry a secret that has no place in the lock's holder file.
      commandLine = [commandPath(action), ...action.args].join(" ");
    });
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has printed the help or the error already.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (err instanceof ExitWith) return err.exitCode;
    const failure = describeFailure(err, interrupt.signal.aborted);
    io.stderr.write(`driverplug: ${failure.message}\n`);
    if (failure.stack !== undefined && io.env.DRIVERPLUG_DEBUG) io.stderr.write(`${failure.stack}\n`);
    return failure.exitCode;
  } finally {
    await Promise.all([prepared?.handle.close(), ctx.plugins.close()]);
    interrupt.dispose();
  }
}
