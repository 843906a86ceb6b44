// Create: progress that makes sense and a stream that ends OK, a second
// Create refused, and a cancelled Create that leaves no half-made machine.
import { Code } from "../protocol/status.js";
import { State } from "../../generated/driverplug/driver/v1/driver.js";
import { fail, type Check } from "./check.js";
import {
  describeOutcome,
  drain,
  ended,
  expectCode,
  expectOk,
  expectState,
  outcome,
  stateName,
} from "./expectations.js";
import { awaitFirstEvent, InFlight, tooFast } from "./in-flight.js";

/** The least time the kit watches for a machine a cancelled Create should not have left. */
const LEFTOVER_WATCH_MIN_MS = 1000;

const RESTING_AFTER_CREATE = [State.STATE_STOPPED, State.STATE_RUNNING];

export const createChecks: readonly Check[] = [
  {
    category: "Create",
    name: "progress is well-formed and the stream ends OK",
    async run(ctx) {
      const p = await ctx.configured();
      // ctx.create() checks each event and the final status.
      const events = await ctx.create(p);
      if (events.length === 0) fail("Create: expected at least one progress event, got none");
      const { state } = await expectOk("GetState after Create", p.client.getState({}));
      expectState("GetState right after Create returned", state, RESTING_AFTER_CREATE);
    },
  },
  {
    category: "Create",
    name: "a second Create is ALREADY_EXISTS",
    async run(ctx) {
      const p = await ctx.created();
      const before = (await expectOk("GetState after Create", p.client.getState({}))).state;
      await expectCode("Create of an existing machine", ended(p.client.create({})), Code.ALREADY_EXISTS);
      const after = (await expectOk("GetState after the second Create", p.client.getState({}))).state;
      expectState("GetState after the refused second Create", after, before);
    },
  },
  {
    category: "Create",
    name: "a cancelled Create leaves no machine behind",
    alone: true,
    async run(ctx) {
      const p = await ctx.configured({ slow: "Create" });
      ctx.deferMachineRemoval();
      const sentAt = Date.now();
      const op = new InFlight((o) => p.client.create({}, o), {}, "Create");
      await awaitFirstEvent(ctx, op, "Create");
      const stepMs = Date.now() - sentAt;
      // A Create that does its work before it reports anything cannot be undone by a cancel at its first event.
      const atFirstEvent = await outcome(p.client.getState({}));
      op.cancel();
      // A stream that still ended OK was over before the cancel reached it: Create is quicker than the check.
      if (!(await op.done).error) tooFast(ctx, "Create ended OK before the cancel reached it", "Create");
      // SetConfig is a mutation, so it waits for the cancelled Create to finish in the driver;
      // it also drops the slow config for what follows.
      await ctx.setConfig(p);
      // A driver that goes on creating in the background (a goroutine ignoring its context)
      // shows the machine a little later: watch for a while, as long as a few of Create's steps.
      const watchUntil = Date.now() + Math.max(LEFTOVER_WATCH_MIN_MS, 4 * stepMs);
      let state = State.STATE_NONE_UNSPECIFIED;
      while (state === State.STATE_NONE_UNSPECIFIED && Date.now() < watchUntil) {
        state = (await expectOk("GetState after the cancelled Create", p.client.getState({}))).state;
        if (state === State.STATE_NONE_UNSPECIFIED) await ctx.pause(50);
      }
      const again = await outcome(drain(p.client.create({}), "Create after the cancelled Create"));
      const afterAgain = (await expectOk("GetState", p.client.getState({}))).state;
      const againError = again.ok ? again.value.error : again.error;
      const left = state !== State.STATE_NONE_UNSPECIFIED || againError?.code === Code.ALREADY_EXISTS;
      if (left && atFirstEvent.ok && atFirstEvent.value.state !== State.STATE_NONE_UNSPECIFIED)
        tooFast(
          ctx,
          `the machine existed already (${stateName(atFirstEvent.value.state)}) at Create's first progress event`,
          "Create",
        );
      if (left && !ctx.hasSlowConfig("Create"))
        tooFast(ctx, "Create may have finished before the cancel reached the driver", "Create");
      if (left || againError) {
        fail(
          `after Create was cancelled at its first progress event: expected state NONE and a new Create to succeed, ` +
            `got state ${stateName(state)} and a new Create answering ${describeOutcome(againError)}`,
        );
      }
      expectState("GetState after Create again", afterAgain, RESTING_AFTER_CREATE);
    },
  },
];
