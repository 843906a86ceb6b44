// hygiene: status messages are for the host's user, so they carry no stack
// traces; and a secret in the config (a shared directory's password) never
// reaches the plugin's logs, at any level.
import { randomBytes } from "node:crypto";
import { Code } from "../protocol/status.js";
import { Capability } from "../../generated/driverplug/driver/v1/driver.js";
import { fail, skip, type Check } from "./check.js";
import type { CheckContext } from "./check-context.js";
import { drain, expectOk, expectStreamOk, outcome, quote } from "./expectations.js";
import { SECRET_PLACEHOLDER, type JsonObject } from "./kit-settings.js";
import { MAX_LOG_BYTES, MAX_LOG_RECORDS } from "./kept-output.js";
import { DRIVERPLUG_TRACE } from "../protocol/env.js";

/** Stack traces of Node, Python, Go, Java and Rust, as they look inside a message. */
const STACK_TRACE = [
  /\n\s+at .+[(:]\d+/,
  /\bat .+\.(?:[cm]?js|ts):\d+:\d+/,
  /Traceback \(most recent call last\)/,
  /File ".+", line \d+/,
  /goroutine \d+ \[/,
  /\.go:\d+ \+0x[0-9a-f]+/,
  /\n\s+at [\w$.]+\([\w]+\.java:\d+\)/,
  /stack backtrace:/,
];

function withSecret(value: unknown, secret: string): unknown {
  if (typeof value === "string") return value.split(SECRET_PLACEHOLDER).join(secret);
  if (Array.isArray(value)) return value.map((v) => withSecret(v, secret));
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withSecret(v, secret)]));
  return value;
}

async function provokedErrors(ctx: CheckContext): Promise<string[]> {
  const p = await ctx.launch();
  const c = p.client;
  const messages: string[] = [];
  const keep = async (call: Promise<unknown>) => {
    const r = await outcome(call);
    if (!r.ok && r.error.code !== Code.UNIMPLEMENTED)
      messages.push(`${r.error.path.split("/").pop()}: ${r.error.details}`);
  };
  await keep(c.getConfig({}));
  await keep(c.setConfig({ configJson: Buffer.from("{not json") }));
  await keep(c.setConfig({ configJson: Buffer.from(JSON.stringify({ ...ctx.config(), machineName: 42 })) }));
  await ctx.setConfig(p);
  await keep(
    c.setConfigFromFlags({ values: { "conformance-no-such-flag": { kind: { $case: "boolValue", value: true } } } }),
  );
  // A stream the contract says must fail: its error's message is what is read; an OK is the driver's defect, named.
  const keepStream = async (what: string, stream: AsyncIterable<unknown>) => {
    const r = await drain(stream, what);
    if (!r.error) fail(`${what}: expected an error (this check reads its message), got OK`);
    if (r.error.code !== Code.UNIMPLEMENTED) messages.push(`${r.error.path.split("/").pop()}: ${r.error.details}`);
  };
  await keep(c.stop({}));
  await keep(c.getIp({}));
  await keepStream("Start before Create", c.start({}));
  await ctx.create(p);
  await keepStream("Create of an existing machine", c.create({}));
  await keep(c.getIp({}));
  await expectStreamOk("Start", c.start({}));
  await keep(c.remove({}));
  return messages;
}

export const hygieneChecks: readonly Check[] = [
  {
    category: "hygiene",
    name: "status messages carry no stack traces",
    async run(ctx) {
      const messages = await provokedErrors(ctx);
      const traced = messages.filter((m) => STACK_TRACE.some((re) => re.test(m)));
      if (traced.length > 0)
        fail(`expected plain status messages, got stack traces in ${traced.map(quote).join("; ")}`);
    },
  },
  {
    category: "hygiene",
    name: "secrets never reach the plugin's logs",
    async run(ctx) {
      const template = ctx.settings.secretConfig;
      if (!template)
        skip(
          `no secret to watch for: give a secret config (--secret-config) holding ${SECRET_PLACEHOLDER} where a password goes` +
            (ctx.has(Capability.CAPABILITY_SHARED_DIRS)
              ? " (the driver shares directories, which have passwords)"
              : ""),
        );
      const secret = `conformance-secret-${randomBytes(8).toString("hex")}`;
      const extra = withSecret(template, secret) as JsonObject;
      if (!JSON.stringify(extra).includes(secret)) fail(`the secret config holds no ${SECRET_PLACEHOLDER} placeholder`);
      const p = await ctx.launch({ [DRIVERPLUG_TRACE]: "1" });
      await expectOk("SetConfig with the secret config", p.client.setConfig({ configJson: ctx.configJson({ extra }) }));
      await expectOk("GetConfig", p.client.getConfig({}));
      if (Object.keys(ctx.settings.flagValues).length > 0)
        await outcome(p.client.setConfigFromFlags({ values: ctx.settings.flagValues }));
      await ctx.create(p);
      await expectStreamOk("Start", p.client.start({}));
      if (ctx.has(Capability.CAPABILITY_SHARED_DIRS)) await expectOk("GetSharedDirs", p.client.getSharedDirs({}));
      await expectOk("Stop", p.client.stop({}));
      await expectOk("Remove", p.client.remove({}));
      await p.close();
      if (p.logCut)
        fail(
          `the plugin's log is too large: it logged more than the kit keeps (${MAX_LOG_RECORDS} records or ${MAX_LOG_BYTES / 1024 / 1024} MiB), so the kit cannot tell whether the secret was logged`,
        );
      const logs = p.logText();
      const at = logs.indexOf(secret);
      if (at >= 0) {
        const end = logs.indexOf("\n", at);
        const line = logs.slice(logs.lastIndexOf("\n", at) + 1, end < 0 ? undefined : end);
        fail(
          `expected the secret never to be logged, got it in the plugin's log line ${quote(line.split(secret).join("<SECRET>"))}`,
        );
      }
    },
  },
];
