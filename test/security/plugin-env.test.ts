// What a launched plugin is given from its host's environment: an allowlist
// (PATH, HOME, locale, TMPDIR, XDG_*, TZ, DRIVERPLUG_TRACE), the protocol's
// own variables and what launch() is given explicitly. Cloud keys, tokens,
// SSH_AUTH_SOCK and NODE_OPTIONS stay with the host: with
// NODE_OPTIONS=--inspect=127.0.0.1:0 a plugin would open a TCP debugger any
// local user can use to run code as the victim.
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { HostLogRecord } from "../../src/host/index.js";
import { launchFixture } from "../host/fixture-launch.js";
import { makeHostTestEnv, type HostTestEnv } from "../host/host-test-env.js";
import { Figures } from "./figures.js";
import { internetSocketInodes, socketInodes } from "./proc-sockets.js";

const figures = new Figures("plugin-env");
afterAll(() => figures.print());

const SECRETS: Record<string, string> = {
  AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG",
  GITHUB_TOKEN: "ghp_secret",
  SSH_AUTH_SOCK: "/tmp/ssh-agent.sock",
  NODE_OPTIONS: "--inspect=127.0.0.1:0",
};

let env: HostTestEnv;
const saved: Record<string, string | undefined> = {};
beforeEach(async () => {
  env = await makeHostTestEnv();
  for (const [k, v] of Object.entries(SECRETS)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});
afterEach(async () => {
  for (const k of Object.keys(SECRETS)) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  await env.cleanup();
});

async function namesSeen(options: Parameters<typeof launchFixture>[2] = {}) {
  let resolve!: (r: HostLogRecord) => void;
  const seen = new Promise<HostLogRecord>((r) => (resolve = r));
  const plugin = await launchFixture(env, "env-names", {
    ...options,
    logger: { log: (r) => r.message === "env-names" && resolve(r) },
  });
  const names = (await seen).fields.names as string[];
  return { plugin, names };
}

const ALLOWED = /^(PATH|HOME|LANG|LANGUAGE|LC_[A-Z_]+|TMPDIR|TZ|XDG_[A-Z_]+|DRIVERPLUG_TRACE)$/;
const PROTOCOL = [
  "DRIVERPLUG_PLUGIN",
  "DRIVERPLUG_STDIN_LIFELINE",
  "PLUGIN_PROTOCOL_VERSIONS",
  "PLUGIN_UNIX_SOCKET_DIR",
];

describe("the plugin's environment", () => {
  it("holds only the allowlist, the protocol's variables and what launch() was given", async () => {
    const { plugin, names } = await namesSeen();
    await plugin.close();
    figures.set("hostVariables", Object.keys(process.env).length);
    figures.set("pluginVariables", names.length);
    const unexpected = names.filter((n) => !ALLOWED.test(n) && !PROTOCOL.includes(n) && n !== "FIXTURE_SCRATCH");
    figures.set("unexpected", unexpected.length);
    expect(unexpected).toEqual([]);
    for (const secret of Object.keys(SECRETS)) expect(names).not.toContain(secret);
    for (const name of PROTOCOL) expect(names).toContain(name);
    expect(names).toContain("PATH");
  });

  it("passes a host variable only when launch() names it in inheritEnv", async () => {
    const { plugin, names } = await namesSeen({ inheritEnv: ["GITHUB_TOKEN"] });
    await plugin.close();
    expect(names).toContain("GITHUB_TOKEN");
    expect(names).not.toContain("AWS_SECRET_ACCESS_KEY");
  });

  it("NODE_OPTIONS=--inspect in the host's environment opens no TCP port in the plugin", async () => {
    const plugin = await launchFixture(env, "serve");
    try {
      const internet = internetSocketInodes();
      const tcp = [...socketInodes(plugin.pid)].filter((inode) => internet.has(inode));
      figures.set("pluginTcpSockets", tcp.length);
      expect(tcp).toEqual([]);
    } finally {
      await plugin.close();
    }
  });
});
