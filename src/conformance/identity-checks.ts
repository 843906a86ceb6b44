// identity: what the driver says about itself (GetInfo) is true, and Probe
// answers ready.
import { Code } from "../protocol/status.js";
import { Capability } from "../../generated/driverplug/driver/v1/driver.js";
import { fail, type Check } from "./check.js";
import { CAPABILITY_RPCS, callEmpty, capabilityName } from "./capability-calls.js";
import { expectOk, outcome, quote } from "./expectations.js";

const KNOWN_CAPABILITIES = new Set(
  Object.values(Capability).filter((v): v is Capability => typeof v === "number" && v > 0),
);

export const identityChecks: readonly Check[] = [
  {
    category: "identity",
    name: "GetInfo names the driver as its executable does",
    async run(ctx) {
      const p = await ctx.launch();
      const info = await expectOk("GetInfo", p.client.getInfo({}));
      if (info.driverName !== ctx.settings.name)
        fail(
          `GetInfo: expected driver_name ${quote(ctx.settings.name)} (the executable is driverplug-driver-${ctx.settings.name}), got ${quote(info.driverName)}`,
        );
      if (info.driverVersion.trim() === "") fail("GetInfo: expected a driver_version, got an empty one");
    },
  },
  {
    category: "identity",
    name: "GetInfo lists the protocol version in use",
    async run(ctx) {
      const p = await ctx.launch();
      const info = await expectOk("GetInfo", p.client.getInfo({}));
      if (!info.apiVersions.includes(p.appVersion))
        fail(
          `GetInfo: expected api_versions to include ${p.appVersion} (the handshake's version), got [${info.apiVersions.join(", ")}]`,
        );
      if (new Set(info.apiVersions).size !== info.apiVersions.length)
        fail(`GetInfo: expected api_versions without repeats, got [${info.apiVersions.join(", ")}]`);
    },
  },
  {
    category: "identity",
    name: "GetInfo capabilities are known and not repeated",
    async run(ctx) {
      const caps = ctx.info.capabilities;
      const unknown = caps.filter((c) => !KNOWN_CAPABILITIES.has(c));
      if (unknown.length > 0) fail(`GetInfo: expected known capabilities, got unknown values ${unknown.join(", ")}`);
      if (new Set(caps).size !== caps.length)
        fail(`GetInfo: expected each capability once, got ${caps.map(capabilityName).join(", ")}`);
    },
  },
  {
    category: "identity",
    name: "every advertised capability is implemented",
    async run(ctx) {
      const p = await ctx.configured();
      const lies: string[] = [];
      for (const rpc of CAPABILITY_RPCS) {
        if (!ctx.has(rpc.capability)) continue;
        const answer = await outcome(callEmpty(p.client, rpc));
        if (!answer.ok && answer.error.code === Code.UNIMPLEMENTED)
          lies.push(`${capabilityName(rpc.capability)} is advertised but ${rpc.name} answers UNIMPLEMENTED`);
      }
      if (lies.length > 0) fail(lies.join("; "));
    },
  },
  {
    category: "identity",
    name: "Probe answers ready",
    async run(ctx) {
      const p = await ctx.launch();
      const deadline = Date.now() + ctx.settings.stepTimeoutMs;
      for (;;) {
        const answer = await expectOk("Probe", p.client.probe({}));
        if (answer.ready) return;
        if (Date.now() > deadline)
          fail(
            `Probe: expected ready=true, still ready=false after ${ctx.settings.stepTimeoutMs / 1000} s (${quote(answer.message)})`,
          );
        await ctx.pause(100);
      }
    },
  },
];
