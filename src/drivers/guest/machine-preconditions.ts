// The refusals every VM driver answers with before it touches a machine: no
// config yet, no machine yet, a field fixed at Create, a machine not in the
// state a call needs, a bundle or accelerator this host cannot use. One
// wording for all drivers, each a status the host can act on.
import { failedPrecondition, invalidArgument, notFound, type State } from "../../plugin/index.js";
import { AcceleratorError, chooseAccelerator, type AcceleratorChoice } from "./accelerator.js";
import { BundleError, loadBundle, type Bundle } from "./bundle.js";
import { stateWord } from "./state-word.js";

export function requireConfig<C>(config: C | undefined): C {
  if (!config) throw failedPrecondition("no config set: call SetConfig with the machine's config first");
  return config;
}

/** NOT_FOUND unless the machine exists; `action` is what the caller wanted ("start", "get SSH access of"). */
export async function requireMachine<R>(
  machineName: string,
  action: string,
  files: { exists(): Promise<boolean> },
  readRecord: () => Promise<R>,
): Promise<R> {
  if (!(await files.exists()))
    throw notFound(`cannot ${action} machine "${machineName}": it does not exist (create it first)`);
  return readRecord();
}

/** INVALID_ARGUMENT naming the first of `fields` whose value differs between the two configs. */
export function refuseImmutableChanges<C>(current: C, next: C, fields: ReadonlyArray<keyof C & string>): void {
  for (const field of fields) {
    if (JSON.stringify(next[field]) !== JSON.stringify(current[field]))
      throw invalidArgument(
        `config field "${field}" cannot change on an existing machine (${JSON.stringify(current[field])} -> ${JSON.stringify(next[field])})`,
      );
  }
}

/** FAILED_PRECONDITION when a machine that is not running (or starting) is asked for `what` (an IP, SSH access). */
export function refuseUnlessRunning(machineName: string, state: State, what: string, running: readonly State[]): void {
  if (!running.includes(state))
    throw failedPrecondition(`machine "${machineName}" is ${stateWord(state)}, so it has no ${what}; start it first`);
}

/** The accelerator to run with; a choice this host cannot honour is FAILED_PRECONDITION. */
export async function acceleratorFor(
  choice: AcceleratorChoice,
): Promise<Awaited<ReturnType<typeof chooseAccelerator>>> {
  try {
    return await chooseAccelerator(choice);
  } catch (err) {
    if (err instanceof AcceleratorError) throw failedPrecondition(err.message);
    throw err;
  }
}

export const NO_BUNDLE =
  "no bundle given: pass --bundle <dir> (a directory with a bundle.json, e.g. from `make guest`)";

/** The bundle at `bundlePath`; none given, or one that is refused, is FAILED_PRECONDITION saying why. */
export async function configuredBundle(bundlePath: string, signal?: AbortSignal): Promise<Bundle> {
  if (bundlePath === "") throw failedPrecondition(NO_BUNDLE);
  try {
    return await loadBundle(bundlePath, signal);
  } catch (err) {
    if (err instanceof BundleError) throw failedPrecondition(err.message);
    throw err;
  }
}
