// WatchState's source: the state now, then every change. Changes come from
// this plugin's own operations (published as they happen), from QEMU's events
// on the second monitor socket (STOP, RESUME, SHUTDOWN...) and from that
// connection closing when QEMU exits; a slow poll catches what nobody here
// saw, such as a VM started by another process.
import { EventEmitter, once } from "node:events";
import { State } from "../../plugin/index.js";
import { QmpClient } from "./qmp-client.js";

const POLL_MS = 2_000;

export class StateFeed {
  private readonly changes = new EventEmitter();
  private monitor: QmpClient | undefined;
  private connecting = false;
  private watchers = 0;

  constructor(
    private readonly read: () => Promise<State>,
    private readonly watchSocket: () => string | undefined,
  ) {
    this.changes.setMaxListeners(0);
  }

  /** An operation here changed the state (or may have): watchers look again. */
  publish(state?: State): void {
    this.changes.emit("change", state);
  }

  async *watch(signal: AbortSignal): AsyncGenerator<State> {
    const queued: State[] = [];
    let poked = false;
    const onChange = (state?: State) => {
      if (state !== undefined) queued.push(state);
      poked = true;
    };
    this.changes.on("change", onChange);
    this.watchers++;
    try {
      let last = await this.read();
      yield last;
      while (!signal.aborted) {
        if (!poked && queued.length === 0) {
          if (last === State.STATE_RUNNING || last === State.STATE_PAUSED || last === State.STATE_STARTING)
            this.ensureMonitor();
          await once(this.changes, "change", { signal: AbortSignal.any([signal, AbortSignal.timeout(POLL_MS)]) }).catch(
            () => undefined,
          );
          if (signal.aborted) break;
        }
        poked = false;
        const seen = [...queued.splice(0), await this.read()];
        for (const state of seen) {
          if (state === last) continue;
          last = state;
          yield state;
        }
      }
    } finally {
      this.changes.off("change", onChange);
      if (--this.watchers === 0) this.close();
    }
  }

  close(): void {
    this.monitor?.close();
    this.monitor = undefined;
  }

  private ensureMonitor(): void {
    const path = this.watchSocket();
    if (this.monitor || this.connecting || path === undefined) return;
    this.connecting = true;
    QmpClient.connect(path, { timeoutMs: 2_000 })
      .then((client) => {
        if (this.watchers === 0) return client.close();
        this.monitor = client;
        client.onEvent(() => this.publish());
        void client.whenClosed().then(() => {
          if (this.monitor === client) this.monitor = undefined;
          this.publish();
        });
      })
      // Busy (another process watches) or not up yet: the poll covers it.
      .catch(() => undefined)
      .finally(() => (this.connecting = false));
  }
}
