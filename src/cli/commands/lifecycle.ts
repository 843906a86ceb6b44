// start, stop, restart, kill: one driver call each on an existing machine,
// under its lock; start shows the driver's progress as it comes (not under
// --json, which prints what was done and the machine's final state).
import { Command } from "commander";
import type { CliContext } from "../cli-context.js";
import { timeoutOption } from "../command-timeout.js";
import { printJson, println } from "../cli-context.js";
import { checkMachineName } from "../machine-name.js";
import { withMachine, type MachineSession } from "../machine-session.js";
import { optionalCall, unimplemented } from "../optional-call.js";
import { progressView, silentProgress } from "../progress-view.js";
import { stateName } from "../../protocol/state-names.js";

interface Lifecycle {
  name: string;
  description: string;
  run(m: MachineSession, ctx: CliContext, quiet: boolean): Promise<void>;
  done: string;
}

async function startWithProgress(m: MachineSession, ctx: CliContext, quiet: boolean): Promise<void> {
  const view = quiet ? silentProgress : progressView(ctx.io.stderr);
  m.wait.writeThrough((line) => view.interject(line));
  try {
    // Without --timeout, no deadline of the CLI's own: a driver bounds its Start (the qemu driver's
    // --boot-timeout may rightly pass the host's 10-minute default for a cloud image under TCG);
    // Ctrl-C cancels it.
    const call = m.call.deadline ? m.call : { ...m.call, timeoutMs: 0 };
    for await (const event of m.client.start({}, call)) {
      m.wait.heard();
      if (event.progress) view.show(event.progress);
    }
  } finally {
    view.done();
  }
}

const COMMANDS: readonly Lifecycle[] = [
  {
    name: "start",
    description: "start a machine (does nothing if it runs)",
    run: startWithProgress,
    done: "started",
  },
  {
    name: "stop",
    description: "stop a machine gracefully (does nothing if it is stopped)",
    run: async (m) => void (await m.client.stop({}, m.call)),
    done: "stopped",
  },
  {
    name: "restart",
    description: "stop a machine, then start it",
    async run(m, ctx, quiet) {
      if ((await optionalCall(m.client.restart({}, m.call))) === unimplemented) {
        // A driver without Restart: the contract lets the host stop, then start.
        await m.client.stop({}, m.call);
        await startWithProgress(m, ctx, quiet);
      }
    },
    done: "restarted",
  },
  {
    name: "kill",
    description: "stop a machine at once, from any state",
    run: async (m) => void (await m.client.kill({}, m.call)),
    done: "killed",
  },
];

export function lifecycleCommands(ctx: () => CliContext): Command[] {
  return COMMANDS.map((spec) =>
    new Command(spec.name)
      .description(spec.description)
      .argument("<machine>", "the machine's name")
      .option("--json", "print what was done and the final state as JSON (no progress lines)")
      .addOption(timeoutOption("change"))
      .action(async (machine: string, opts: { json?: boolean; timeout: number }) => {
        const c = ctx();
        const name = checkMachineName(machine);
        const json = opts.json === true;
        await withMachine(c, name, { mutating: true, timeoutMs: opts.timeout * 1000 }, async (m) => {
          await spec.run(m, c, json);
          const { state } = await m.client.getState({}, m.call);
          if (json)
            printJson(c.io, { machine: name, driver: m.record.driver, action: spec.name, state: stateName(state) });
          else println(c.io, `Machine ${JSON.stringify(name)} ${spec.done} (state: ${stateName(state)}).`);
        });
      }),
  );
}
