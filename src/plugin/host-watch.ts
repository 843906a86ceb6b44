// Notices the host dying, so an orphaned plugin stops within 2 s: the parent
// pid changing is always watched; EOF on stdin only when the host asked for
// it with DRIVERPLUG_STDIN_LIFELINE=1 (go-plugin hosts hand over their own
// stdin, whose EOF says nothing about the host).

export interface HostWatchOptions {
  /**
   * The parent pid read when the plugin started: read later (after the
   * handshake), a host that died in between would never be noticed.
   */
  parentPid: number;
  stdinLifeline: boolean;
  onHostGone(why: string): void;
  pollMs?: number;
}

/** Starts watching; the returned function stops it. */
export function watchHost(options: HostWatchOptions): () => void {
  const parent = options.parentPid;
  let gone = false;
  const report = (why: string) => {
    if (gone) return;
    gone = true;
    options.onHostGone(why);
  };
  const check = () => {
    if (process.ppid !== parent) report(`the host process (pid ${parent}) is gone`);
  };
  const timer = setInterval(check, options.pollMs ?? 250);
  timer.unref();
  check();
  const onEnd = () => report("stdin reached end-of-file: the host closed its lifeline pipe");
  if (options.stdinLifeline) {
    process.stdin.on("end", onEnd);
    process.stdin.on("error", onEnd);
    process.stdin.resume();
  }
  return () => {
    clearInterval(timer);
    if (options.stdinLifeline) {
      process.stdin.off("end", onEnd);
      process.stdin.off("error", onEnd);
      process.stdin.pause();
    }
  };
}
