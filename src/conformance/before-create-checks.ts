// before Create: a configured plugin with no machine says so: GetState NONE,
// NOT_FOUND for calls on the machine, OK for Remove (nothing to remove).
import { Code } from "../protocol/status.js";
import { Capability, State } from "../../generated/driverplug/driver/v1/driver.js";
import { fail, type Check } from "./check.js";
import { codeProblem, ended, expectOk, expectState, failIfAny, quote, expectOkUnlessLeftOut } from "./expectations.js";

export const beforeCreateChecks: readonly Check[] = [
  {
    category: "before Create",
    name: "GetState is NONE",
    async run(ctx) {
      const p = await ctx.configured();
      expectState(
        "GetState before Create",
        (await expectOk("GetState", p.client.getState({}))).state,
        State.STATE_NONE_UNSPECIFIED,
      );
    },
  },
  {
    category: "before Create",
    name: "calls on the machine are NOT_FOUND",
    async run(ctx) {
      const p = await ctx.configured();
      const c = p.client;
      const NF = Code.NOT_FOUND;
      failIfAny([
        await codeProblem("Start before Create", ended(c.start({})), NF),
        await codeProblem("Stop before Create", c.stop({}), NF),
        await codeProblem("Kill before Create", c.kill({}), NF),
        await codeProblem("GetIP before Create", c.getIp({}), NF),
        ctx.has(Capability.CAPABILITY_URL) ? await codeProblem("GetURL before Create", c.getUrl({}), NF) : undefined,
        ctx.has(Capability.CAPABILITY_SSH)
          ? await codeProblem("GetSSHInfo before Create", c.getSshInfo({}), NF)
          : undefined,
        ctx.has(Capability.CAPABILITY_RESTART)
          ? await codeProblem("Restart before Create", c.restart({}), NF)
          : undefined,
        ctx.has(Capability.CAPABILITY_UPDATE_CONFIG)
          ? await codeProblem("UpdateConfig before Create", c.updateConfig({ configJson: ctx.configJson() }), NF)
          : undefined,
      ]);
    },
  },
  {
    category: "before Create",
    name: "Remove is OK and leaves NONE",
    async run(ctx) {
      const p = await ctx.configured();
      await expectOk("Remove before Create (nothing to remove)", p.client.remove({}));
      expectState(
        "GetState after Remove",
        (await expectOk("GetState", p.client.getState({}))).state,
        State.STATE_NONE_UNSPECIFIED,
      );
    },
  },
  {
    category: "before Create",
    name: "PreCreateCheck passes and GetMachineName is the config's",
    async run(ctx) {
      const p = await ctx.configured();
      await expectOkUnlessLeftOut("PreCreateCheck on a fresh store", p.client.preCreateCheck({}));
      const answer = await expectOkUnlessLeftOut("GetMachineName", p.client.getMachineName({}));
      const name = answer?.name ?? ctx.machineName;
      if (name !== ctx.machineName) fail(`GetMachineName: expected ${quote(ctx.machineName)}, got ${quote(name)}`);
    },
  },
];
