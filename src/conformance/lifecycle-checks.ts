// lifecycle: Start, Stop, Restart, Kill and Remove do what the contract says
// in each state, idempotent where it says so, and the whole cycle holds up
// when repeated.
import { isIP } from "node:net";
import { Code } from "../protocol/status.js";
import { Capability, State } from "../../generated/driverplug/driver/v1/driver.js";
import { fail, type Check } from "./check.js";
import type { CheckContext } from "./check-context.js";
import {
  codeProblem,
  expectCode,
  expectOk,
  expectOkUnlessLeftOut,
  expectState,
  expectStreamOk,
  failIfAny,
  quote,
  settledState,
  stateName,
} from "./expectations.js";
import { awaitFirstEvent, InFlight, tooFast } from "./in-flight.js";
import type { DriverClient } from "./kit-plugin.js";

async function state(c: DriverClient, what: string): Promise<State> {
  return (await expectOk(`GetState ${what}`, c.getState({}))).state;
}

/** Records every state WatchState publishes, when the driver can watch. */
function watchStates(ctx: CheckContext, c: DriverClient): { seen: State[] } | undefined {
  if (!ctx.has(Capability.CAPABILITY_WATCH_STATE)) return undefined;
  const ac = new AbortController();
  const seen: State[] = [];
  const watcher = { seen };
  void (async () => {
    try {
      for await (const m of c.watchState({}, { signal: ac.signal })) seen.push(m.state);
    } catch {
      // Cancelled at the end of the check.
    }
  })();
  ctx.defer("cancel WatchState", async () => ac.abort());
  return watcher;
}

async function accessWhileRunning(ctx: CheckContext, c: DriverClient): Promise<void> {
  const ip = (await expectOkUnlessLeftOut("GetIP while RUNNING", c.getIp({})))?.ip ?? "192.0.2.1";
  if (isIP(ip) === 0) fail(`GetIP while RUNNING: expected an IP address, got ${quote(ip)}`);
  if (ctx.has(Capability.CAPABILITY_URL)) {
    const { url } = await expectOk("GetURL while RUNNING", c.getUrl({}));
    if (!URL.canParse(url)) fail(`GetURL while RUNNING: expected a URL, got ${quote(url)}`);
  }
  if (ctx.has(Capability.CAPABILITY_SSH)) {
    const ssh = await expectOk("GetSSHInfo while RUNNING", c.getSshInfo({}));
    if (ssh.hostname === "") fail("GetSSHInfo while RUNNING: expected a hostname, got an empty one");
    if (ssh.port < 1 || ssh.port > 65535) fail(`GetSSHInfo while RUNNING: expected a port 1-65535, got ${ssh.port}`);
    if (ssh.username === "") fail("GetSSHInfo while RUNNING: expected a username, got an empty one");
  }
}

async function oneCycle(ctx: CheckContext, c: DriverClient, round: number): Promise<void> {
  const at = (what: string) => `${what} (round ${round})`;
  await expectStreamOk(at("Create"), c.create({}));
  await expectStreamOk(at("Start"), c.start({}));
  expectState(at("GetState after Start"), await state(c, ""), State.STATE_RUNNING);
  await expectOk(at("Stop"), c.stop({}));
  expectState(at("GetState after Stop"), await state(c, ""), State.STATE_STOPPED);
  await expectStreamOk(at("Start again"), c.start({}));
  expectState(at("GetState after Start again"), await state(c, ""), State.STATE_RUNNING);
  await expectOk(at("Kill"), c.kill({}));
  expectState(at("GetState after Kill"), await state(c, ""), State.STATE_STOPPED);
  await expectOk(at("Remove"), c.remove({}));
  expectState(at("GetState after Remove"), await state(c, ""), State.STATE_NONE_UNSPECIFIED);
}

export const lifecycleChecks: readonly Check[] = [
  {
    category: "lifecycle",
    name: "Start reaches RUNNING",
    async run(ctx) {
      const p = await ctx.created();
      await expectStreamOk("Start", p.client.start({}));
      expectState("GetState right after Start returned", await state(p.client, "after Start"), State.STATE_RUNNING);
    },
  },
  {
    category: "lifecycle",
    name: "Start of a running machine is OK at once",
    async run(ctx) {
      const p = await ctx.running();
      const watch = watchStates(ctx, p.client);
      // The watch's first message (the current state) comes before we act.
      const deadline = Date.now() + ctx.settings.stepTimeoutMs;
      while (watch && watch.seen.length === 0 && Date.now() < deadline) await ctx.pause(20);
      const events = await expectStreamOk("Start of a running machine", p.client.start({}));
      const booting = events.filter((e) => (e.progress?.percent ?? 100) < 100);
      if (booting.length > 0)
        fail(
          `Start of a running machine: expected no boot progress, got ${booting.map((e) => quote(e.progress!.step)).join(", ")}`,
        );
      expectState("GetState after the second Start", await state(p.client, ""), State.STATE_RUNNING);
      const passed = watch?.seen.filter((s) => s !== State.STATE_RUNNING) ?? [];
      if (passed.length > 0)
        fail(
          `Start of a running machine: expected the state to stay RUNNING, WatchState saw ${passed.map(stateName).join(", ")}`,
        );
    },
  },
  {
    category: "lifecycle",
    name: "Stop returns only once STOPPED",
    async run(ctx) {
      const p = await ctx.running();
      await expectOk("Stop of a running machine", p.client.stop({}));
      expectState("GetState right after Stop returned", await state(p.client, ""), State.STATE_STOPPED);
    },
  },
  {
    category: "lifecycle",
    name: "Stop of a stopped machine is OK",
    async run(ctx) {
      const p = await ctx.created();
      await expectOk("Stop of a created machine", p.client.stop({}));
      await expectOk("Stop of a stopped machine", p.client.stop({}));
      expectState("GetState after the second Stop", await state(p.client, ""), State.STATE_STOPPED);
      await expectStreamOk("Start", p.client.start({}));
      await expectOk("Stop of a running machine", p.client.stop({}));
      await expectOk("Stop of a stopped machine, after a Start", p.client.stop({}));
      expectState("GetState after Stop, Stop", await state(p.client, ""), State.STATE_STOPPED);
    },
  },
  {
    category: "lifecycle",
    name: "GetIP, GetURL and GetSSHInfo answer while RUNNING",
    async run(ctx) {
      const p = await ctx.running();
      await accessWhileRunning(ctx, p.client);
    },
  },
  {
    category: "lifecycle",
    name: "GetIP, GetURL and GetSSHInfo are FAILED_PRECONDITION while STOPPED",
    async run(ctx) {
      const p = await ctx.created();
      const FP = Code.FAILED_PRECONDITION;
      failIfAny([
        await codeProblem("GetIP while STOPPED", p.client.getIp({}), FP),
        ctx.has(Capability.CAPABILITY_URL)
          ? await codeProblem("GetURL while STOPPED", p.client.getUrl({}), FP)
          : undefined,
        ctx.has(Capability.CAPABILITY_SSH)
          ? await codeProblem("GetSSHInfo while STOPPED", p.client.getSshInfo({}), FP)
          : undefined,
      ]);
    },
  },
  {
    category: "lifecycle",
    name: "Restart of a running machine leaves it RUNNING",
    needs: [Capability.CAPABILITY_RESTART],
    async run(ctx) {
      const p = await ctx.running();
      await expectOk("Restart of a running machine", p.client.restart({}));
      expectState("GetState after Restart", await state(p.client, ""), State.STATE_RUNNING);
    },
  },
  {
    category: "lifecycle",
    name: "Kill of a running machine leaves it STOPPED",
    async run(ctx) {
      const p = await ctx.running();
      await expectOk("Kill of a running machine", p.client.kill({}));
      expectState("GetState after Kill", await state(p.client, ""), State.STATE_STOPPED);
      await expectOk("Kill of a stopped machine", p.client.kill({}));
      expectState("GetState after the second Kill", await state(p.client, ""), State.STATE_STOPPED);
    },
  },
  {
    category: "lifecycle",
    name: "Kill during Start leaves it STOPPED",
    alone: true,
    async run(ctx) {
      const p = await ctx.created();
      await ctx.setConfig(p, { slow: "Start" });
      const op = new InFlight((o) => p.client.start({}, o), {}, "Start");
      await awaitFirstEvent(ctx, op, "Start");
      if (op.ended) tooFast(ctx, "Start finished before Kill could be sent", "Start");
      await expectOk("Kill during Start", p.client.kill({}));
      await op.done;
      const after = await settledState(
        "after Kill during Start",
        () => p.client.getState({}),
        ctx.settings.stepTimeoutMs,
      );
      if (after === State.STATE_RUNNING && !op.error && !ctx.hasSlowConfig("Start"))
        tooFast(ctx, "Start may have finished before Kill reached the driver", "Start");
      expectState(
        `GetState after Kill during Start (Start ended ${op.error ? op.error.codeName : "OK"})`,
        after,
        State.STATE_STOPPED,
      );
    },
  },
  {
    category: "lifecycle",
    name: "Remove of a running machine is FAILED_PRECONDITION",
    async run(ctx) {
      const p = await ctx.running();
      await expectCode("Remove of a running machine", p.client.remove({}), Code.FAILED_PRECONDITION);
      expectState("GetState after the refused Remove", await state(p.client, ""), State.STATE_RUNNING);
    },
  },
  {
    category: "lifecycle",
    name: "Remove leaves NONE",
    async run(ctx) {
      const p = await ctx.created();
      await expectOk("Remove of a stopped machine", p.client.remove({}));
      expectState("GetState after Remove", await state(p.client, ""), State.STATE_NONE_UNSPECIFIED);
      await expectCode("GetIP after Remove", p.client.getIp({}), Code.NOT_FOUND);
      await expectOk("Remove again", p.client.remove({}));
    },
  },
  {
    category: "lifecycle",
    // The name carries the repeat count; the runner's list is built per run.
    name: "the whole cycle, repeated",
    async run(ctx) {
      const p = await ctx.configured();
      ctx.deferMachineRemoval();
      for (let round = 1; round <= ctx.settings.repeat; round++) await oneCycle(ctx, p.client, round);
    },
  },
];
