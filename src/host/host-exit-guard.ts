// Closes the plugins this process launched when the process itself ends:
// on 'exit' they are SIGKILLed synchronously (nothing asynchronous runs
// then); on SIGINT, SIGTERM or SIGHUP they are closed properly, then the
// signal is raised again so the process ends as it would have. Handlers are
// installed only while plugins run, so a host with no plugins keeps Node's
// default signal behaviour. An application that listens for a signal itself
// still gets its plugins closed, but the process is left to its own handler.

export interface GuardedPlugin {
  /** Synchronous last resort: kill the process and remove its private dir. */
  killNow(): void;
  close(): Promise<void>;
}

const SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

const live = new Set<GuardedPlugin>();
let stopping = false;

function onExit(): void {
  for (const p of live) p.killNow();
}

function onSignal(sig: NodeJS.Signals): void {
  if (stopping) {
    // A second signal while closing: no more waiting.
    onExit();
    reraise(sig);
    return;
  }
  stopping = true;
  void Promise.allSettled([...live].map((p) => p.close())).then(() => {
    stopping = false;
    reraise(sig);
  });
}

/** Ends the process with `sig`'s default action, unless the application listens for it. */
function reraise(sig: NodeJS.Signals): void {
  uninstall();
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

const signalHandlers = new Map<NodeJS.Signals, () => void>(SIGNALS.map((sig) => [sig, () => onSignal(sig)]));

function install(): void {
  process.on("exit", onExit);
  for (const [sig, handler] of signalHandlers)
    if (process.listeners(sig).indexOf(handler) === -1) process.on(sig, handler);
}

function uninstall(): void {
  process.off("exit", onExit);
  for (const [sig, handler] of signalHandlers) process.off(sig, handler);
}

/** Starts guarding `p`; the returned function stops it (call it once the plugin is gone). */
export function guardPlugin(entry: GuardedPlugin): () => void {
  live.add(entry);
  if (live.size === 1) install();
  return () => {
    if (!live.delete(entry)) return;
    if (live.size === 0 && !stopping) uninstall();
  };
}

/** How many plugins are guarded, for tests and diagnostics. */
export function guardedPluginCount(): number {
  return live.size;
}
