// `driverplug config get|set|update`: read a machine's driver config, or
// change it through the driver's UpdateConfig (which validates it and may
// refuse, e.g. while the machine runs), then store what the driver returns.
import { readFile } from "node:fs/promises";
import { Command } from "commander";
import type { CliContext } from "../cli-context.js";
import { printJson, println } from "../cli-context.js";
import { CliError, EXIT_USAGE } from "../cli-error.js";
import { timeoutOption } from "../command-timeout.js";
import { checkMachineName } from "../machine-name.js";
import { parseJsonObjectArg } from "../json-object-arg.js";
import { decodeConfig, encodeConfig, withMachine } from "../machine-session.js";

/** A value as typed: JSON when it parses (4, true, ["a"]), else the text itself. */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** An example change from the machine's own config (its first own field as it is now), not another driver's. */
function exampleField(config: Record<string, unknown>): string {
  const field = Object.keys(config).find((k) => k !== "machineName" && k !== "storePath");
  return field === undefined ? '{"field": "value"}' : JSON.stringify({ [field]: config[field] }).replace(/:/, ": ");
}

async function update(
  c: CliContext,
  name: string,
  changes: Record<string, unknown>,
  opts: { json?: boolean; timeout: number },
): Promise<void> {
  const config = await withMachine(c, name, { mutating: true, timeoutMs: opts.timeout * 1000 }, async (m) => {
    const next = { ...m.record.config, ...changes };
    await m.client.updateConfig({ configJson: encodeConfig(next) }, m.call);
    return decodeConfig((await m.client.getConfig({}, m.call)).configJson, m.record.driver);
  });
  if (opts.json === true)
    printJson(c.io, { machine: name, action: "config update", changed: Object.keys(changes), config });
  else println(c.io, `Machine ${JSON.stringify(name)} updated.`);
}

export function configCommand(ctx: () => CliContext): Command {
  const config = new Command("config").description("show or change a machine's driver config");
  config
    .command("get")
    .description("print the driver config, or one field of it")
    .argument("<machine>", "the machine's name")
    .argument("[field]", "a top-level field, e.g. cpus")
    .option("--json", "print JSON (the default for the whole config)")
    .addOption(timeoutOption("query"))
    .action(async (machine: string, field: string | undefined, opts: { json?: boolean; timeout: number }) => {
      const c = ctx();
      const name = checkMachineName(machine);
      // The driver is the authority on its config: ask it rather than read the file.
      const current = await withMachine(c, name, { mutating: false, timeoutMs: opts.timeout * 1000 }, async (m) => {
        const { configJson } = await m.client.getConfig({}, m.call);
        return decodeConfig(configJson, m.record.driver);
      });
      if (field === undefined) return printJson(c.io, current);
      // Own fields only: "__proto__" or "toString" are not fields of a config.
      if (!Object.hasOwn(current, field))
        throw new CliError(
          `the config of machine ${JSON.stringify(name)} has no field ${JSON.stringify(field)}; fields: ${Object.keys(current).join(", ")}`,
          EXIT_USAGE,
        );
      const value = current[field];
      if (opts.json === true || typeof value !== "string") printJson(c.io, value);
      else println(c.io, value);
    });
  config
    .command("set")
    .description("change one field of the driver config (the driver checks it)")
    .argument("<machine>", "the machine's name")
    .argument("<field>", "a top-level field, e.g. cpus")
    .argument("<value>", 'the new value: JSON (4, true, ["a","b"]) or plain text')
    .option("--json", "print what was done and the new config as JSON")
    .addOption(timeoutOption("change"))
    .action(async (machine: string, field: string, value: string, opts: { json?: boolean; timeout: number }) => {
      await update(ctx(), checkMachineName(machine), { [field]: parseValue(value) }, opts);
    });
  config
    .command("update")
    .description("change several fields at once from a JSON object")
    .argument("<machine>", "the machine's name")
    .argument("[json]", `the fields to change, e.g. '{"cpus": 4, "memoryMiB": 4096}'`)
    .option("--file <path>", "read the JSON object from a file instead")
    .option("--json", "print what was done and the new config as JSON")
    .addOption(timeoutOption("change"))
    .action(
      async (machine: string, json: string | undefined, opts: { file?: string; json?: boolean; timeout: number }) => {
        const name = checkMachineName(machine);
        if ((json === undefined) === (opts.file === undefined))
          throw new CliError(
            "config update needs the JSON object either as an argument or with --file <path>, not both",
            EXIT_USAGE,
          );
        const c = ctx();
        const text = json ?? (await readFile(opts.file!, "utf8"));
        const record = await c.store.read(name);
        await update(
          c,
          name,
          parseJsonObjectArg(
            text,
            json === undefined ? opts.file! : "the argument",
            exampleField(record.config),
            record.driver,
          ),
          opts,
        );
      },
    );
  return config;
}
