// `driverplug drivers`: which driver plugins are found, and where.
// `driverplug inspect <driver>`: what a driver says about itself (GetInfo)
// and the create flags it takes.
import { Command } from "commander";
import { capabilityToJSON } from "../../../generated/driverplug/driver/v1/driver.js";
import type { CliContext } from "../cli-context.js";
import { printJson, println } from "../cli-context.js";
import { describeFlag } from "../create-flags.js";
import { pluginDirsFrom, PLUGIN_DIRS_ENV } from "../driver-launcher.js";
import { scanDrivers } from "../driver-scan.js";
import { withDriver } from "../machine-session.js";
import { printable } from "../../host/printable-text.js";
import { optionalCall, unimplemented } from "../optional-call.js";
import { renderTable } from "../table.js";

export function driversCommand(ctx: () => CliContext): Command {
  return new Command("drivers")
    .description(`list the driver plugins found: bundled, in $${PLUGIN_DIRS_ENV}, then on PATH`)
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const c = ctx();
      const found = await scanDrivers(pluginDirsFrom(c.io.env), c.io.env.PATH ?? "");
      if (opts.json === true) return printJson(c.io, found);
      println(
        c.io,
        renderTable(
          ["NAME", "SOURCE", "PATH", ...(found.some((d) => d.refused) ? ["REFUSED"] : [])],
          found.map((d) => [
            d.name,
            d.shadowed ? `${d.source} (shadowed)` : d.source,
            d.path,
            ...(d.refused ? [d.refused] : []),
          ]),
        ),
      );
    });
}

/** "CAPABILITY_WATCH_STATE" -> "watch-state". */
function capabilityName(c: number): string {
  return capabilityToJSON(c)
    .replace(/^CAPABILITY_/, "")
    .toLowerCase()
    .replace(/_/g, "-");
}

export function inspectCommand(ctx: () => CliContext): Command {
  return new Command("inspect")
    .description("show a driver's name, version, capabilities and create flags")
    .argument("<driver>", "the driver's name, e.g. fake")
    .option("--json", "print JSON")
    .action(async (driverName: string, opts: { json?: boolean }) => {
      const c = ctx();
      const answer = await withDriver(c, driverName, async (d) => {
        const info = await d.client.getInfo({}, { signal: c.signal });
        const answer = await optionalCall(d.client.getCreateFlags({}, { signal: c.signal }));
        const flags = answer === unimplemented ? [] : answer.flags;
        return {
          name: info.driverName,
          version: info.driverVersion,
          apiVersions: info.apiVersions,
          capabilities: info.capabilities.map(capabilityName),
          createFlags: flags.map((f) => ({ name: f.name, usage: f.usage, about: describeFlag(f), envVar: f.envVar })),
        };
      });
      if (opts.json === true) return printJson(c.io, answer);
      println(c.io, `Name:         ${printable(answer.name)}`);
      println(c.io, `Version:      ${printable(answer.version)}`);
      println(c.io, `API versions: ${answer.apiVersions.join(", ")}`);
      println(c.io, `Capabilities: ${answer.capabilities.length === 0 ? "none" : answer.capabilities.join(", ")}`);
      println(c.io, "Create flags:");
      println(
        c.io,
        renderTable(
          ["  FLAG", "ABOUT"],
          answer.createFlags.map((f) => [`  --${f.name}`, `${f.usage} (${f.about})`]),
        ),
      );
    });
}
