// WatchState (when advertised): the current state first, then every change
// in order, and the stream ends when the host cancels it.
import { Capability, State } from "../../generated/driverplug/driver/v1/driver.js";
import { CheckFailed, fail, type Check } from "./check.js";
import type { CheckContext } from "./check-context.js";
import { expectOk, expectStreamOk, stateName, TRANSITIONAL } from "./expectations.js";
import type { DriverClient } from "./kit-plugin.js";
import { StreamBudget } from "./kept-output.js";

const WATCH = [Capability.CAPABILITY_WATCH_STATE];

/** A WatchState stream read in the background, with a way to wait for a state. */
class Watcher {
  readonly seen: State[] = [];
  ended = false;
  error: Error | undefined;
  private readonly ac = new AbortController();
  private wake: () => void = () => {};

  constructor(ctx: CheckContext, client: DriverClient) {
    ctx.defer("cancel WatchState", async () => this.ac.abort());
    void (async () => {
      const budget = new StreamBudget("WatchState");
      try {
        for await (const m of client.watchState({}, { signal: this.ac.signal })) {
          budget.add(m);
          this.seen.push(m.state);
          this.wake();
        }
      } catch (err) {
        this.error = err as Error;
      }
      this.ended = true;
      this.wake();
    })();
  }

  cancel(): void {
    this.ac.abort();
  }

  /** Waits until the stream has published `count` states (or ended); false on timeout. */
  async waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      // A flood of states ended the stream: that is the check's failure, said as such.
      if (this.error instanceof CheckFailed) throw this.error;
      if (this.ended || Date.now() > deadline) return predicate();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, Math.min(200, deadline - Date.now())));
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return true;
  }

  /** Waits for `state` to be published after index `from`; fails saying what was seen. */
  async expectState(state: State, from: number, after: string, timeoutMs: number): Promise<number> {
    const found = () => this.seen.indexOf(state, from);
    if (!(await this.waitFor(() => found() >= 0, timeoutMs)))
      fail(
        `WatchState after ${after}: expected ${stateName(state)}, got ${this.seen.slice(from).map(stateName).join(", ") || "nothing"}` +
          (this.ended ? ` and the stream ended (${this.error?.message ?? "OK"})` : ` within ${timeoutMs / 1000} s`),
      );
    const unexpected = this.seen.slice(from, found()).filter((s) => !TRANSITIONAL.includes(s));
    if (unexpected.length > 0)
      fail(
        `WatchState after ${after}: expected only transitional states before ${stateName(state)}, got ${unexpected.map(stateName).join(", ")}`,
      );
    return found() + 1;
  }
}

export const watchStateChecks: readonly Check[] = [
  {
    category: "WatchState",
    name: "the current state comes first",
    needs: WATCH,
    async run(ctx) {
      const p = await ctx.configured();
      const none = new Watcher(ctx, p.client);
      await none.expectState(State.STATE_NONE_UNSPECIFIED, 0, "opening it before Create", ctx.settings.stepTimeoutMs);
      if (none.seen[0] !== State.STATE_NONE_UNSPECIFIED)
        fail(`WatchState before Create: expected NONE first, got ${stateName(none.seen[0]!)}`);
      await ctx.create(p);
      const current = (await expectOk("GetState", p.client.getState({}))).state;
      const later = new Watcher(ctx, p.client);
      await later.waitFor(() => later.seen.length > 0, ctx.settings.stepTimeoutMs);
      if (later.seen[0] !== current)
        fail(
          `WatchState opened after Create: expected ${stateName(current)} first, got ${later.seen.map(stateName).join(", ") || "nothing"}`,
        );
    },
  },
  {
    category: "WatchState",
    name: "each change is streamed, in order",
    needs: WATCH,
    async run(ctx) {
      const p = await ctx.configured();
      const w = new Watcher(ctx, p.client);
      const t = ctx.settings.stepTimeoutMs;
      let at = await w.expectState(State.STATE_NONE_UNSPECIFIED, 0, "opening it", t);
      await ctx.create(p);
      if ((await expectOk("GetState", p.client.getState({}))).state === State.STATE_RUNNING) {
        at = await w.expectState(State.STATE_RUNNING, at, "Create", t);
        await expectOk("Stop", p.client.stop({}));
      }
      at = await w.expectState(State.STATE_STOPPED, at, "Create", t);
      await expectStreamOk("Start", p.client.start({}));
      at = await w.expectState(State.STATE_RUNNING, at, "Start", t);
      await expectOk("Stop", p.client.stop({}));
      at = await w.expectState(State.STATE_STOPPED, at, "Stop", t);
      await expectOk("Remove", p.client.remove({}));
      await w.expectState(State.STATE_NONE_UNSPECIFIED, at, "Remove", t);
    },
  },
  {
    category: "WatchState",
    name: "the stream ends when the host cancels it",
    needs: WATCH,
    async run(ctx) {
      const p = await ctx.configured();
      const w = new Watcher(ctx, p.client);
      await w.waitFor(() => w.seen.length > 0, ctx.settings.stepTimeoutMs);
      w.cancel();
      if (!(await w.waitFor(() => w.ended, ctx.settings.stepTimeoutMs)))
        fail("WatchState: expected the stream to end after the host cancelled it");
      // A handler that ignored the cancel would keep a stream open; the plugin must still stop at once on Shutdown.
      await ctx.create(p);
      const started = Date.now();
      await p.close();
      const ms = Date.now() - started;
      if (p.handle.exit?.signal)
        fail(
          `after a cancelled WatchState: expected the plugin to exit on Shutdown, it had to be killed (${p.handle.exit.signal}) after ${ms} ms`,
        );
    },
  },
];
