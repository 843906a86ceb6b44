// The figures a security or reliability suite reports: counters collected
// while its tests run, printed at the end as one line that starts with
// "[driverplug figures]" so CI logs and SECURITY.md can quote it.
export class Figures {
  private readonly counts = new Map<string, number>();

  constructor(private readonly suite: string) {}

  add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }

  set(key: string, value: number): void {
    this.counts.set(key, value);
  }

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  line(): string {
    const parts = [...this.counts].map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(1)}`);
    return `[driverplug figures] ${this.suite}: ${parts.join(" ")}`;
  }

  print(): void {
    console.log(this.line());
  }
}
