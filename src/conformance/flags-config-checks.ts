// flags and config: create flag descriptors, SetConfigFromFlags' refusals,
// the config's JSON round trip and refusals, and what a plugin with no config
// yet answers.
import { Code } from "../protocol/status.js";
import { FlagType, type CreateFlag, type FlagValue } from "../../generated/driverplug/driver/v1/driver.js";
import { fail, skip, type Check } from "./check.js";
import type { CheckContext } from "./check-context.js";
import { codeProblem, ended, expectCode, expectOk, expectOkUnlessLeftOut, failIfAny, quote } from "./expectations.js";

const FLAG_NAME = /^[a-z0-9][a-z0-9-]*$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

const CASE_OF: Record<number, NonNullable<FlagValue["kind"]>["$case"]> = {
  [FlagType.FLAG_TYPE_STRING]: "stringValue",
  [FlagType.FLAG_TYPE_STRING_LIST]: "stringListValue",
  [FlagType.FLAG_TYPE_INT]: "intValue",
  [FlagType.FLAG_TYPE_BOOL]: "boolValue",
};

/** A value of another type than the flag's. */
function wrongValue(flag: CreateFlag): FlagValue {
  return flag.type === FlagType.FLAG_TYPE_STRING
    ? { kind: { $case: "boolValue", value: true } }
    : { kind: { $case: "stringValue", value: "conformance-not-a-value-of-this-type" } };
}

async function flagsOf(ctx: CheckContext): Promise<CreateFlag[]> {
  const p = await ctx.launch();
  return (await expectOkUnlessLeftOut("GetCreateFlags", p.client.getCreateFlags({})))?.flags ?? [];
}

function parseJsonObject(what: string, bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (err) {
    fail(`${what}: expected JSON, got ${quote(Buffer.from(bytes).toString("utf8"))} (${(err as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    fail(`${what}: expected a JSON object, got ${quote(JSON.stringify(value))}`);
  return value as Record<string, unknown>;
}

export const flagsConfigChecks: readonly Check[] = [
  {
    category: "flags and config",
    name: "create flags are well-formed and unique",
    async run(ctx) {
      const flags = await flagsOf(ctx);
      const problems: string[] = [];
      const names = new Set<string>();
      const envs = new Set<string>();
      for (const f of flags) {
        if (!FLAG_NAME.test(f.name))
          problems.push(`flag name ${quote(f.name)} is not lower-case letters, digits and '-'`);
        if (names.has(f.name)) problems.push(`flag ${quote(f.name)} is declared twice`);
        names.add(f.name);
        if (CASE_OF[f.type] === undefined) problems.push(`flag ${quote(f.name)} has no valid type (got ${f.type})`);
        if (f.usage.trim() === "") problems.push(`flag ${quote(f.name)} has no usage text`);
        if (f.envVar !== "") {
          if (!ENV_NAME.test(f.envVar))
            problems.push(`flag ${quote(f.name)}'s env var ${quote(f.envVar)} is not a valid name`);
          if (envs.has(f.envVar)) problems.push(`env var ${quote(f.envVar)} is used by two flags`);
          envs.add(f.envVar);
        }
      }
      if (problems.length > 0) fail(`GetCreateFlags: ${problems.join("; ")}`);
    },
  },
  {
    category: "flags and config",
    name: "flag defaults have their flag's type",
    async run(ctx) {
      const flags = await flagsOf(ctx);
      const wrong = flags.filter(
        (f) => f.defaultValue?.kind !== undefined && f.defaultValue.kind.$case !== CASE_OF[f.type],
      );
      if (wrong.length > 0)
        fail(
          `GetCreateFlags: ${wrong.map((f) => `flag ${quote(f.name)} of type ${FlagType[f.type]} has a ${f.defaultValue!.kind!.$case} default`).join("; ")}`,
        );
    },
  },
  {
    category: "flags and config",
    name: "flag defaults and the given --flag values are accepted",
    async run(ctx) {
      const p = await ctx.configured();
      const flags = (await expectOkUnlessLeftOut("GetCreateFlags", p.client.getCreateFlags({})))?.flags ?? [];
      if (flags.length === 0) skip("the driver declares no create flags");
      const values: Record<string, FlagValue> = {};
      for (const f of flags) if (f.defaultValue?.kind) values[f.name] = f.defaultValue;
      await expectOk("SetConfigFromFlags with every flag's default", p.client.setConfigFromFlags({ values }));
      await expectOk(
        "SetConfigFromFlags with the same values again (idempotent)",
        p.client.setConfigFromFlags({ values: { ...values, ...ctx.settings.flagValues } }),
      );
    },
  },
  {
    category: "flags and config",
    name: "an unknown flag is INVALID_ARGUMENT naming it",
    async run(ctx) {
      const p = await ctx.configured();
      const name = "conformance-no-such-flag";
      await expectCode(
        `SetConfigFromFlags with unknown flag ${name}`,
        p.client.setConfigFromFlags({ values: { [name]: { kind: { $case: "stringValue", value: "x" } } } }),
        Code.INVALID_ARGUMENT,
        { mentions: name },
      );
    },
  },
  {
    category: "flags and config",
    name: "a value of the wrong type is INVALID_ARGUMENT naming the flag",
    async run(ctx) {
      const p = await ctx.configured();
      const flags = (await expectOkUnlessLeftOut("GetCreateFlags", p.client.getCreateFlags({})))?.flags ?? [];
      if (flags.length === 0) skip("the driver declares no create flags");
      for (const flag of flags) {
        await expectCode(
          `SetConfigFromFlags with a ${wrongValue(flag).kind!.$case} for ${FlagType[flag.type]} flag ${flag.name}`,
          p.client.setConfigFromFlags({ values: { [flag.name]: wrongValue(flag) } }),
          Code.INVALID_ARGUMENT,
          { mentions: flag.name },
        );
      }
    },
  },
  {
    category: "flags and config",
    name: "config round-trips through GetConfig and SetConfig",
    async run(ctx) {
      const p = await ctx.configured();
      const first = await expectOk("GetConfig after SetConfig", p.client.getConfig({}));
      const parsed = parseJsonObject("GetConfig", first.configJson);
      for (const key of ["machineName", "storePath"] as const) {
        if (parsed[key] !== ctx.config()[key])
          fail(
            `GetConfig: expected ${key} ${quote(String(ctx.config()[key]))}, got ${quote(JSON.stringify(parsed[key]))}`,
          );
      }
      await expectOk("SetConfig with what GetConfig returned", p.client.setConfig({ configJson: first.configJson }));
      const second = await expectOk("GetConfig again", p.client.getConfig({}));
      const again = parseJsonObject("GetConfig again", second.configJson);
      if (JSON.stringify(again) !== JSON.stringify(parsed))
        fail(
          `GetConfig after SetConfig of its own output: expected the same config, got ${quote(JSON.stringify(again))} (was ${quote(JSON.stringify(parsed))})`,
        );
    },
  },
  {
    category: "flags and config",
    name: "malformed config JSON is INVALID_ARGUMENT",
    async run(ctx) {
      const p = await ctx.launch();
      failIfAny([
        await codeProblem(
          'SetConfig with "{not json"',
          p.client.setConfig({ configJson: Buffer.from("{not json") }),
          Code.INVALID_ARGUMENT,
        ),
        await codeProblem(
          "SetConfig with a JSON list",
          p.client.setConfig({ configJson: Buffer.from("[1, 2]") }),
          Code.INVALID_ARGUMENT,
        ),
        await codeProblem(
          "SetConfig with no bytes",
          p.client.setConfig({ configJson: Buffer.alloc(0) }),
          Code.INVALID_ARGUMENT,
        ),
      ]);
    },
  },
  {
    category: "flags and config",
    name: "a config violating the schema is INVALID_ARGUMENT",
    async run(ctx) {
      const p = await ctx.launch();
      const base = ctx.config();
      const variant = (patch: Record<string, unknown>, drop?: string) => {
        const v: Record<string, unknown> = { ...base, ...patch };
        if (drop) delete v[drop];
        return Buffer.from(JSON.stringify(v));
      };
      failIfAny([
        await codeProblem(
          "SetConfig with machineName 42",
          p.client.setConfig({ configJson: variant({ machineName: 42 }) }),
          Code.INVALID_ARGUMENT,
        ),
        await codeProblem(
          "SetConfig without machineName",
          p.client.setConfig({ configJson: variant({}, "machineName") }),
          Code.INVALID_ARGUMENT,
        ),
        await codeProblem(
          'SetConfig with a relative storePath "relative/store"',
          p.client.setConfig({ configJson: variant({ storePath: "relative/store" }) }),
          Code.INVALID_ARGUMENT,
        ),
      ]);
    },
  },
  {
    category: "flags and config",
    name: "calls before SetConfig are FAILED_PRECONDITION",
    async run(ctx) {
      const p = await ctx.launch();
      const c = p.client;
      const FP = Code.FAILED_PRECONDITION;
      failIfAny([
        await codeProblem("GetConfig before SetConfig", c.getConfig({}), FP),
        await codeProblem("GetMachineName before SetConfig", c.getMachineName({}), FP),
        await codeProblem("GetState before SetConfig", c.getState({}), FP),
        await codeProblem("SetConfigFromFlags before SetConfig", c.setConfigFromFlags({ values: {} }), FP),
        await codeProblem("PreCreateCheck before SetConfig", c.preCreateCheck({}), FP),
        await codeProblem("Create before SetConfig", ended(c.create({})), FP),
        await codeProblem("Start before SetConfig", ended(c.start({})), FP),
        await codeProblem("Stop before SetConfig", c.stop({}), FP),
        await codeProblem("Kill before SetConfig", c.kill({}), FP),
        await codeProblem("Remove before SetConfig", c.remove({}), FP),
        await codeProblem("GetIP before SetConfig", c.getIp({}), FP),
      ]);
    },
  },
];
