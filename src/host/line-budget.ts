// How many output lines a plugin may have logged per second. A plugin that
// floods its stderr would otherwise keep the host's event loop busy parsing
// and logging, and starve the host's own work; past the budget, lines are
// counted and set aside (see PluginOutput), not logged.

export class LineBudget {
  private windowStart = -Infinity;
  private used = 0;
  private dropped = 0;

  constructor(
    private readonly linesPerSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True if one more line may be logged in the current one-second window. */
  take(): boolean {
    const t = this.now();
    if (t - this.windowStart >= 1000) {
      this.windowStart = t;
      this.used = 0;
    }
    if (this.used < this.linesPerSecond) {
      this.used++;
      return true;
    }
    this.dropped++;
    return false;
  }

  /** Lines refused since the last call. */
  takeDropped(): number {
    const count = this.dropped;
    this.dropped = 0;
    return count;
  }

  /** Milliseconds until the current window ends. */
  msLeftInWindow(): number {
    return Math.max(0, this.windowStart + 1000 - this.now());
  }
}
