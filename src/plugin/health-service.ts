// grpc.health.v1.Health as go-plugin hosts expect it: service "plugin" (and
// the server as a whole, "") reports SERVING until the plugin stops; any other
// name is NOT_FOUND for Check and SERVICE_UNKNOWN for Watch. A warm plugin
// also reports "driverplug.idle-exit", so its host knows it ends by itself.
import { EventEmitter, once } from "node:events";
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthService,
} from "../../generated/grpc/health/v1/health.js";
import { notFound } from "./driver-error.js";
import type { ServiceHandlers } from "./handler-types.js";

const KNOWN = new Set(["", "plugin"]);

export class HealthState {
  private status = ServingStatus.SERVING;
  private readonly changes = new EventEmitter();

  constructor() {
    // One listener per Watch stream; any number of hosts may watch.
    this.changes.setMaxListeners(0);
  }

  get current(): ServingStatus {
    return this.status;
  }

  set(status: ServingStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.changes.emit("change");
  }

  /** Resolves at the next change, or rejects when the signal aborts. */
  async nextChange(signal: AbortSignal): Promise<void> {
    await once(this.changes, "change", { signal });
  }
}

/** `extra`: further service names reported like "plugin" (a warm plugin's IDLE_EXIT_HEALTH_SERVICE). */
export function healthHandlers(state: HealthState, extra: readonly string[] = []): ServiceHandlers<HealthService> {
  const known = extra.length === 0 ? KNOWN : new Set([...KNOWN, ...extra]);
  return {
    async check({ service }) {
      if (!known.has(service))
        throw notFound(`unknown service ${JSON.stringify(service)}; this plugin reports health for "plugin" and ""`);
      return { status: state.current };
    },
    async *watch({ service }, { signal }) {
      if (!known.has(service)) {
        yield { status: ServingStatus.SERVICE_UNKNOWN };
        await once(signal, "abort").catch(() => undefined);
        return;
      }
      for (;;) {
        const status = state.current;
        yield { status };
        if (status !== ServingStatus.SERVING) return;
        await state.nextChange(signal);
      }
    },
  };
}
