// persistence: one plugin process per command is how hosts such as
// docker-machine work, so a machine and its state must outlive the plugin,
// even one killed with SIGKILL.
import { State } from "../../generated/driverplug/driver/v1/driver.js";
import type { Check } from "./check.js";
import { expectOk, expectState, expectStreamOk } from "./expectations.js";

export const persistenceChecks: readonly Check[] = [
  {
    category: "persistence",
    name: "a killed plugin's successor sees the same machine and state",
    async run(ctx) {
      const first = await ctx.running();
      await first.kill();
      const second = await ctx.configured();
      const seen = (await expectOk("GetState in a new plugin", second.client.getState({}))).state;
      expectState(
        "GetState in a new plugin after the one that started the machine was SIGKILLed",
        seen,
        State.STATE_RUNNING,
      );
      await expectOk("Stop in the new plugin", second.client.stop({}));
      await second.kill();
      const third = await ctx.configured();
      const after = (await expectOk("GetState in a third plugin", third.client.getState({}))).state;
      expectState(
        "GetState in a new plugin after the machine was stopped and that plugin SIGKILLed",
        after,
        State.STATE_STOPPED,
      );
      await expectStreamOk("Start in the third plugin", third.client.start({}));
    },
  },
  {
    category: "persistence",
    name: "a removed machine stays removed for the next plugin",
    async run(ctx) {
      const first = await ctx.created();
      await expectOk("Remove", first.client.remove({}));
      await first.close();
      const second = await ctx.configured();
      const seen = (await expectOk("GetState in a new plugin", second.client.getState({}))).state;
      expectState("GetState in a new plugin after Remove", seen, State.STATE_NONE_UNSPECIFIED);
    },
  },
];
