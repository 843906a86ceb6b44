// The read-only machine commands: status, ip, url, ssh-info. They take no
// lock (they change nothing) and each has --json.
import { Command } from "commander";
import type { CliContext } from "../cli-context.js";
import { timeoutOption } from "../command-timeout.js";
import { printJson, println } from "../cli-context.js";
import { printable } from "../../host/printable-text.js";
import { checkMachineName } from "../machine-name.js";
import { withMachine, type MachineSession } from "../machine-session.js";
import { stateName } from "../../protocol/state-names.js";

interface Query {
  name: string;
  description: string;
  /** The JSON answer; `text` renders it for people. */
  fetch(m: MachineSession): Promise<Record<string, unknown>>;
  text(answer: Record<string, unknown>): string;
}

const QUERIES: readonly Query[] = [
  {
    name: "status",
    description: "show a machine's state (Running, Stopped...)",
    async fetch(m) {
      const { state } = await m.client.getState({}, m.call);
      return { name: m.name, driver: m.record.driver, state: stateName(state) };
    },
    text: (a) => String(a.state),
  },
  {
    name: "ip",
    description: "show a running machine's IP address",
    fetch: async (m) => ({ name: m.name, ip: (await m.client.getIp({}, m.call)).ip }),
    text: (a) => String(a.ip),
  },
  {
    name: "url",
    description: "show a running machine's service URL",
    fetch: async (m) => ({ name: m.name, url: (await m.client.getUrl({}, m.call)).url }),
    text: (a) => String(a.url),
  },
  {
    name: "ssh-info",
    description: "show how to reach a running machine over SSH",
    async fetch(m) {
      const info = await m.client.getSshInfo({}, m.call);
      const j = info.jump;
      const through = j ? { through: `${j.username ? `${j.username}@` : ""}${j.hostname}:${j.port || 22}` } : {};
      return {
        name: m.name,
        hostname: info.hostname,
        port: info.port,
        username: info.username,
        keyPath: info.keyPath,
        ...through,
        ...(info.unixSocketPath ? { unixSocketPath: info.unixSocketPath } : {}),
      };
    },
    text: (a) =>
      [
        `Hostname: ${String(a.hostname)}`,
        `Port:     ${String(a.port)}`,
        `Username: ${String(a.username)}`,
        `Key path: ${String(a.keyPath)}`,
        ...(a.through ? [`Through:  ${String(a.through)} (SSH jump)`] : []),
        ...(a.unixSocketPath ? [`Socket:   ${String(a.unixSocketPath)} (SSH for the owner only)`] : []),
      ].join("\n"),
  },
];

export function queryCommands(ctx: () => CliContext): Command[] {
  return QUERIES.map((q) =>
    new Command(q.name)
      .description(q.description)
      .argument("<machine>", "the machine's name")
      .option("--json", "print JSON")
      .addOption(timeoutOption("query"))
      .action(async (machine: string, opts: { json?: boolean; timeout: number }) => {
        const c = ctx();
        const session = { mutating: false, timeoutMs: opts.timeout * 1000 };
        const answer = await withMachine(c, checkMachineName(machine), session, q.fetch);
        if (opts.json === true) printJson(c.io, answer);
        // The answers are the driver's text: one value per line, nothing raw.
        else
          println(c.io, q.text(Object.fromEntries(Object.entries(answer).map(([k, v]) => [k, printable(String(v))]))));
      }),
  );
}
