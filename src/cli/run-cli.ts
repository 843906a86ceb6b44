// Runs one driverplug command line and returns its exit code. The driver of a
// `create` is launched before parsing, since its flags (from GetCreateFlags)
// are options of the command; the same plugin then does the create.
import { CommanderError } from "commander";
import type { CliContext, Io } from "./cli-context.js";
import { EXIT_USAGE, ExitWith } from "./cli-error.js";
import type { PreparedDriver } from "./commands/create.js";
import { launchDriver, type DriverHandle } from "./driver-launcher.js";
import { describeFailure, failureJson, failureText } from "./error-message.js";
import { isValidMachineName } from "./machine-name.js";
import { printableLines } from "../host/printable-text.js";
import { installInterrupt, INTERRUPTED_NOTICE, interruptedAgain } from "./interrupt.js";
import { MachineStore, storeRoot } from "./machine-store.js";
import { optionalCall, unimplemented } from "./optional-call.js";
import { PLUGIN_START_TIMEOUT_MS, PluginPool } from "./plugin-pool.js";
import { KeptLogRecords } from "./kept-log-records.js";
import { DRIVERPLUG_TRACE } from "../protocol/env.js";
import { timeoutArg } from "./command-timeout.js";
import { noWaitNotice, waitNotice } from "./wait-notice.js";
import { buildProgram, commandPath, DEFAULT_LOCK_TIMEOUT_S } from "./program.js";
import { WarmPlugins, warmIdleMs } from "./warm-plugins.js";

/** Options that take a value, to skip when looking for the command and its machine before parsing. */
const VALUE_OPTIONS = new Set(["--lock-timeout", "--timeout", "--warm"]);

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

/** True when the command line asks for JSON (before any "--"): errors are then JSON too. */
export function jsonArg(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
}

/** Commands whose first operand is a machine, so its driver is known before parsing. */
const MACHINE_COMMANDS = new Set(["start", "stop", "restart", "kill", "rm", "status", "ip", "url", "ssh-info", "ssh"]);

/** The machine of `driverplug <machine command> [options] <machine>`, if this is one. */
export function machineArg(argv: readonly string[]): string | undefined {
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 3; i++) {
    const arg = argv[i]!;
    if (arg === "--") break;
    if (VALUE_OPTIONS.has(arg)) i++;
    else if (!arg.startsWith("-")) words.push(arg);
  }
  if (words[0] === "config" && ["get", "set", "update"].includes(words[1] ?? "")) return words[2];
  return MACHINE_COMMANDS.has(words[0] ?? "") ? words[1] : undefined;
}

export interface RunHooks {
  /** Called with every plugin launched (the demo uses it to show the socket is removed). */
  onLaunch?(handle: DriverHandle): void;
}

export async function runCli(argv: readonly string[], io: Io, hooks: RunHooks = {}): Promise<number> {
  const json = jsonArg(argv);
  let machine = machineArg(argv);
  // Under --json the plugins' records and Node's warnings go into the failure's object, never beside it.
  const kept = json ? new KeptLogRecords(io.env[DRIVERPLUG_TRACE] ? "trace" : "warn") : undefined;
  const onWarning = (warning: Error) => kept?.keepWarning(warning);
  if (kept) process.on("warning", onWarning);
  // Under --json the one JSON object on stderr is the whole story: no text line before it.
  const interrupt = installInterrupt({
    first: () => void (json ? undefined : io.stderr.write(INTERRUPTED_NOTICE)),
    again: () =>
      void io.stderr.write(
        json
          ? failureJson(interruptedAgain(), machine, kept?.records())
          : `driverplug: ${interruptedAgain().message}\n`,
      ),
  });
  let prepared: PreparedDriver | undefined;
  let lockTimeoutS = DEFAULT_LOCK_TIMEOUT_S;
  let commandLine = "driverplug";
  // Set once the command line's --warm (or DRIVERPLUG_WARM) is read, before any plugin starts.
  let warm: WarmPlugins | undefined;
  const launchOne = async (driver: string, signal?: AbortSignal, startTimeoutMs?: number, cold = false) => {
    const settings = {
      env: io.env,
      stderr: io.stderr,
      ...(warm && !cold ? { warm } : {}),
      ...(startTimeoutMs !== undefined ? { startTimeoutMs } : {}),
      ...(kept ? { logger: kept.logger() } : {}),
    };
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
    json,
    waitNotice: (limitMs) =>
      io.stderr.isTTY === true && !json
        ? waitNotice(io.stderr, limitMs === undefined ? {} : { limitMs })
        : noWaitNotice,
  };
  // Awaited before the plugins are closed: a command that fails at once (a
  // usage error) must not close the pool before the warm-up registered its
  // plugin, or that plugin outlives the command and keeps it from exiting.
  let warming: Promise<void> = Promise.resolve();
  let closed: Promise<unknown> | undefined;
  // Once, whoever asks first: the failure path of --json, or the end of the run.
  const closing = () =>
    (closed ??= (async () => {
      await warming;
      await Promise.all([prepared?.handle.close(), ctx.plugins.close()]);
    })());
  try {
    const idleMs = warmIdleMs(argv, io.env);
    const store = ctx.store;
    if (idleMs > 0) warm = new WarmPlugins(store, idleMs);
    // Start the machine's plugin now, while the command line is parsed: its start is the longest wait.
    // The command's --timeout bounds its plugin's start too (at most the host's usual start time).
    const timeoutS = timeoutArg(argv);
    const startMs = timeoutS === undefined ? undefined : Math.min(timeoutS * 1000, PLUGIN_START_TIMEOUT_MS);
    if (machine !== undefined && isValidMachineName(machine)) {
      warming = ctx.store.read(machine).then(
        (record) => ctx.plugins.warm(record.driver, startMs),
        () => undefined,
      );
    }
    const driver = createDriverArg(argv);
    if (driver !== undefined) {
      const handle = await ctx.launchDriver(driver, undefined, startMs);
      prepared = { handle, flags: [] };
      // GetCreateFlags is optional: a driver without it takes no flags.
      const answer = await optionalCall(handle.client.getCreateFlags({}, { signal: interrupt.signal }));
      prepared.flags = answer === unimplemented ? [] : answer.flags;
    }
    const program = buildProgram(() => ctx, prepared, {
      writeOut: (s) => void io.stdout.write(s),
      // Under --json the usage error is written as JSON below instead.
      writeErr: (s) => void (json ? undefined : io.stderr.write(s)),
    });
    program.hook("preAction", (_program, action) => {
      lockTimeoutS = (action.optsWithGlobals() as { lockTimeout: number }).lockTimeout;
      // The command and its operands, not its options: an option such as
      // --config may carry a secret that has no place in the lock's holder file.
      commandLine = [commandPath(action), ...action.args].join(" ");
      if (action.registeredArguments[0]?.name() === "machine") machine = action.args[0];
    });
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0;
      // Without --json commander has printed the error already.
      if (json) io.stderr.write(failureJson(describeFailure(err, false), machine, kept?.records()));
      return EXIT_USAGE;
    }
    if (err instanceof ExitWith) return err.exitCode;
    const failure = describeFailure(err, interrupt.signal.aborted);
    if (json) {
      // The plugins are closed first: what they log while stopping belongs in the object too.
      await closing();
      io.stderr.write(failureJson(failure, machine, kept?.records()));
    } else io.stderr.write(`driverplug: ${printableLines(failureText(failure))}\n`);
    if (failure.stack !== undefined && io.env.DRIVERPLUG_DEBUG && !json) io.stderr.write(`${failure.stack}\n`);
    return failure.exitCode;
  } finally {
    await closing();
    interrupt.dispose();
    if (kept) process.off("warning", onWarning);
  }
}
