// concurrency and deadlines: queries are not stuck behind a long Start, Kill
// is never queued behind it, and a deadline ends a call without leaving the
// machine in a transitional state.
import { Code } from "../protocol/status.js";
import { State } from "../../generated/driverplug/driver/v1/driver.js";
import { optionalLeftOut } from "./capability-calls.js";
import { fail, type Check } from "./check.js";
import { describeOutcome, expectOk, expectState, outcome, settledState, stateName } from "./expectations.js";
import { awaitFirstEvent, InFlight, tooFast } from "./in-flight.js";

/** The deadline the deadline check gives Start; the slow config must make Start last longer. */
export const START_DEADLINE_MS = 1000;
/** A Start that goes on this long after Kill was sent, and then ends OK, was not pre-empted. */
const QUEUED_EVIDENCE_MS = 1000;
/**
 * How much longer than an idle Kill a Kill during Start may take before it
 * counts as having waited. Kill aborts Start and then waits for the aborted
 * handler to end (driverplug's plugin library waits up to its killWaitMs,
 * 10 s by default), so this is also how long an aborted Start may take to
 * clean up.
 */
const KILL_EXTRA_MS = 2000;

export const concurrencyChecks: readonly Check[] = [
  {
    category: "concurrency and deadlines",
    name: "queries answer during a long Start",
    alone: true,
    async run(ctx) {
      const p = await ctx.created();
      await ctx.setConfig(p, { slow: "Start" });
      const op = new InFlight((o) => p.client.start({}, o), {}, "Start");
      await awaitFirstEvent(ctx, op, "Start");
      const c = p.client;
      const [st, info, probe, name] = await Promise.all([
        outcome(c.getState({})),
        outcome(c.getInfo({})),
        outcome(c.probe({})),
        outcome(c.getMachineName({})),
      ]);
      const answeredDuring = !op.ended;
      for (const [what, r] of [
        ["GetState", st],
        ["GetInfo", info],
        ["Probe", probe],
        ["GetMachineName", name],
      ] as const) {
        if (!r.ok && !optionalLeftOut(r.error))
          fail(`${what} during Start: expected OK, got ${describeOutcome(r.error)}`);
      }
      if (!answeredDuring) tooFast(ctx, "Start finished before the queries were answered", "Start");
      if (st.ok)
        expectState("GetState during Start", st.value.state, [
          State.STATE_STARTING,
          State.STATE_STOPPED,
          State.STATE_RUNNING,
        ]);
      await expectOk("Kill to end the Start", c.kill({}));
      await op.done;
    },
  },
  {
    category: "concurrency and deadlines",
    name: "Kill is not queued behind a long Start",
    alone: true,
    async run(ctx) {
      const p = await ctx.created();
      await ctx.setConfig(p, { slow: "Start" });
      // What a Kill costs when nothing runs: a Kill of the stopped machine, just before.
      const idleAt = Date.now();
      await expectOk("Kill of the stopped machine", p.client.kill({}));
      const idleMs = Date.now() - idleAt;
      const op = new InFlight((o) => p.client.start({}, o), {}, "Start");
      await awaitFirstEvent(ctx, op, "Start");
      if (op.ended) tooFast(ctx, "Start finished before Kill could be sent", "Start");
      const sentAt = Date.now();
      await expectOk("Kill during Start", p.client.kill({}));
      const killMs = Date.now() - sentAt;
      const answeredDuring = !op.ended;
      const result = await op.done;
      // Kill waited for the driver's Start work, even if the Start call itself was ended at once.
      if (killMs > idleMs + KILL_EXTRA_MS)
        fail(
          `Kill during Start: expected it to answer within ${KILL_EXTRA_MS} ms of what a Kill of the stopped machine takes (${idleMs} ms), it took ${killMs} ms: it waited for Start (Kill aborts Start, then waits for its handler to end: a Start must stop and clean up soon after its signal is aborted)`,
        );
      if (answeredDuring || result.error) return;
      // Start ran to its end and only then did Kill answer: Kill waited its turn, unless Start was about to end anyway.
      if (op.endedAt - sentAt < QUEUED_EVIDENCE_MS && !ctx.hasSlowConfig("Start"))
        tooFast(ctx, "Start ended OK within a second of Kill being sent", "Start");
      fail(
        `Kill during Start: expected Kill to answer at once (pre-empting Start), got its answer only after Start ended OK, ${op.endedAt - sentAt} ms after Kill was sent`,
      );
    },
  },
  {
    category: "concurrency and deadlines",
    name: "a deadline ends Start with DEADLINE_EXCEEDED and no transitional state",
    alone: true,
    async run(ctx) {
      const p = await ctx.created();
      await ctx.setConfig(p, { slow: "Start" });
      const op = new InFlight((o) => p.client.start({}, o), { timeoutMs: START_DEADLINE_MS }, "Start");
      const result = await op.done;
      if (!result.error) tooFast(ctx, `Start finished within its ${START_DEADLINE_MS} ms deadline`, "Start");
      if (result.error.code !== Code.DEADLINE_EXCEEDED)
        fail(
          `Start with a ${START_DEADLINE_MS} ms deadline: expected DEADLINE_EXCEEDED, got ${describeOutcome(result.error)}`,
        );
      const after = await settledState(
        "after Start's deadline",
        () => p.client.getState({}),
        ctx.settings.stepTimeoutMs,
      );
      expectState("GetState after Start's deadline passed", after, [State.STATE_STOPPED, State.STATE_RUNNING]);
      // The plugin must take calls again: a mutation is not stuck behind the abandoned Start.
      await ctx.setConfig(p);
      const final = (await expectOk("GetState", p.client.getState({}))).state;
      expectState(`GetState once the abandoned Start was over (it was ${stateName(after)})`, final, [
        State.STATE_STOPPED,
        State.STATE_RUNNING,
      ]);
    },
  },
];
