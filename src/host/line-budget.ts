// How many output lines a plugin may have logged per second. A plugin that
// floods its stderr would otherwise keep the host's event loop busy parsing
// and logging, and starve the host's own work; past the budget, lines are
// counted and dropped, and one record says how many were lost.

export class LineBudget {
  private windowStart = 0;
  private used = 0;
  private dropped = 0;

  constructor(
    private readonly linesPerSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * True if this line may be logged. When a new window opens after drops,
   * `onDropped` hears how many lines the last window lost. No timer: windows
   * roll over as lines arrive.
   */
  take(onDropped: (count: number) => void): boolean {
    const t = this.now();
    if (t - this.windowStart >= 1000) {
      this.windowStart = t;
      this.used = 0;
      if (this.dropped > 0) {
        const count = this.dropped;
        this.dropped = 0;
        onDropped(count);
      }
    }
    if (this.used < this.linesPerSecond) {
      this.used++;
      return true;
    }
    this.dropped++;
    return false;
  }
}
