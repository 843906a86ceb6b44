// A warm plugin's own end: a host that leaves the plugin running after its
// command (DRIVERPLUG_IDLE_EXIT_MS) is not there to stop it, so the plugin
// stops itself once the idle period passes with no host connected and no
// call in flight. A connection counts from its first call until it closes, so
// a host's command keeps the plugin between its calls; calls count too, for
// a grpc-js whose sessions cannot be seen (server-receive-window.ts).
import type { ServerHttp2Session } from "node:http2";
import type { ServerMiddleware } from "./server-middleware.js";

/** The idle period a host asked for, or undefined when it asked for none (or gave nonsense). */
export function idleExitMsFrom(value: string | undefined): number | undefined {
  if (value === undefined || !/^[0-9]{1,10}$/.test(value)) return undefined;
  const ms = Number(value);
  return ms > 0 ? ms : undefined;
}

export class IdleExit {
  private sessions = 0;
  private calls = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    readonly idleMs: number,
    private readonly onIdle: () => void,
  ) {
    this.arm();
  }

  /**
   * Counts a connection from its first call until it closes. A connection
   * that never calls (a host probing whether the socket is alive before it
   * reclaims a dead host's directory) does not keep the plugin.
   */
  readonly session = (session: ServerHttp2Session): void => {
    session.once("stream", () => {
      this.sessions++;
      this.disarm();
      session.once("close", () => {
        this.sessions--;
        this.arm();
      });
    });
  };

  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  private arm(): void {
    if (this.stopped || this.sessions > 0 || this.calls > 0) return;
    this.disarm();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped && this.sessions === 0 && this.calls === 0) this.onIdle();
    }, this.idleMs);
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** A call starts; the returned function ends it (idempotent). */
  enter(): () => void {
    this.calls++;
    this.disarm();
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.calls--;
      this.arm();
    };
  }
}

/** The middleware counting `idle`'s calls. */
export function idleExitMiddleware(idle: IdleExit): ServerMiddleware {
  return async function* (call, ctx) {
    const leave = idle.enter();
    try {
      return yield* call.next(call.request, ctx);
    } finally {
      leave();
    }
  };
}
