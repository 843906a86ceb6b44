// One timer per typed client for the deadlines of all its calls, instead of
// grpc-js's per-call deadline, which arms a timer in the host for every call.
// The deadline still crosses the wire: the call carries it as grpc-timeout,
// so the plugin (in any language) enforces it too and its handler sees
// DEADLINE_EXCEEDED. The timer is armed for the earliest deadline only and
// not touched while calls finish in time, so a stream of quick calls with
// default deadlines sets a timer about once per deadline period. An expired
// call fails DEADLINE_EXCEEDED on the host's side at once.

/** A call with a deadline: `expire` runs once if the deadline passes before the call is unwatched. */
export interface Watched {
  readonly deadlineAt: number;
  expire(): void;
}

export class DeadlineWatch {
  private readonly calls = new Set<Watched>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;

  watch(call: Watched): void {
    this.calls.add(call);
    if (call.deadlineAt < this.armedFor) this.arm(call.deadlineAt);
  }

  unwatch(call: Watched): void {
    this.calls.delete(call);
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.armedFor = at;
    // Unref'd: a call in flight keeps the process alive through its connection, not through this timer.
    this.timer = setTimeout(() => this.fire(), Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1)).unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const call of this.calls) {
      if (call.deadlineAt <= now) {
        this.calls.delete(call);
        call.expire();
      } else if (call.deadlineAt < next) {
        next = call.deadlineAt;
      }
    }
    if (next !== Infinity) this.arm(next);
  }
}

/**
 * gRPC's grpc-timeout value for `ms` milliseconds: at most 8 digits and a
 * unit, rounded up so the plugin's deadline is never earlier than the host's.
 */
export function grpcTimeout(ms: number): string {
  let n = Math.max(0, Math.ceil(ms));
  if (n < 1e8) return `${n}m`;
  for (const [unit, per] of [
    ["S", 1000],
    ["M", 60],
    ["H", 60],
  ] as const) {
    n = Math.ceil(n / per);
    if (n < 1e8) return `${n}${unit}`;
  }
  return "99999999H";
}
