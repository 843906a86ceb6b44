// Deliberately broken plugins (the fake driver with one defect each, in
// test/fixtures/conformance) fail, on the check that names their defect,
// with a message saying what was expected and what came back; the checks
// next to it still pass.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { checkId, formatResult, runConformance, SECRET_PLACEHOLDER } from "../../src/conformance/index.js";
import { brokenPlugin, KitSandbox, resultLines } from "./kit-sandbox.js";

interface Case {
  defect: string;
  /** The checks to run: the defect's and its neighbours. */
  focus: RegExp;
  /** The check that must fail, "category > check". */
  fails: string;
  /** What its message must say. */
  says: string;
  /** Checks in focus that must still pass. */
  passes: string[];
  stepTimeoutMs?: number;
  stepDelayMs?: number;
}

/** How long a plugin may take to print its handshake; a run of a few checks (and its test) gets time for several. */
const START_TIMEOUT_MS = 120_000;
/** Each test: a few checks, each launching plugins (START_TIMEOUT_MS at worst) and stepping through short steps. */
const TEST_TIMEOUT_MS = 600_000;

const CASES: Case[] = [
  {
    defect: "status",
    focus: /^before Create/,
    fails: "before Create > calls on the machine are NOT_FOUND",
    says: 'Stop before Create: expected NOT_FOUND, got FAILED_PRECONDITION: "there is nothing to stop"',
    passes: ["before Create > GetState is NONE", "before Create > Remove is OK and leaves NONE"],
  },
  {
    defect: "stop",
    focus: /^lifecycle > Stop/,
    fails: "lifecycle > Stop of a stopped machine is OK",
    says: 'expected OK, got FAILED_PRECONDITION: "the machine is already stopped"',
    passes: ["lifecycle > Stop returns only once STOPPED"],
  },
  {
    defect: "progress",
    focus: /^Create > progress|^before Create > GetState/,
    fails: "Create > progress is well-formed and the stream ends OK",
    says: "progress went backwards, from 60% to 30%",
    passes: ["before Create > GetState is NONE"],
  },
  {
    defect: "socket",
    focus: /^protocol > (socket|handshake|nothing)/,
    fails: "protocol > socket is 0600, owned by the user, in the private directory",
    says: "expected socket mode 0600, got 0666",
    passes: [
      "protocol > handshake line is 1|<version>|unix|<socket>|grpc|",
      "protocol > nothing on stdout before the handshake",
    ],
  },
  {
    defect: "persist",
    focus: /^persistence/,
    fails: "persistence > a killed plugin's successor sees the same machine and state",
    says: "expected state RUNNING, got NONE",
    passes: ["persistence > a removed machine stays removed for the next plugin"],
  },
  {
    defect: "capability",
    focus: /^identity/,
    fails: "identity > every advertised capability is implemented",
    says: "CAPABILITY_RESTART is advertised but Restart answers UNIMPLEMENTED",
    passes: ["identity > GetInfo names the driver as its executable does", "identity > Probe answers ready"],
  },
  {
    defect: "states",
    focus: /^GetMachineStates/,
    fails: "GetMachineStates > answers each machine as its GetState does, in order",
    says: "to have state RUNNING (what its GetState answers), got state NONE",
    passes: [],
  },
  {
    defect: "stopearly",
    focus: /^lifecycle > (Stop returns|Start reaches)/,
    fails: "lifecycle > Stop returns only once STOPPED",
    says: "GetState right after Stop returned: expected state STOPPED, got STOPPING",
    passes: ["lifecycle > Start reaches RUNNING"],
  },
  {
    defect: "killqueue",
    focus: /^concurrency and deadlines > (Kill|queries)/,
    fails: "concurrency and deadlines > Kill is not queued behind a long Start",
    says: "it waited for Start",
    passes: ["concurrency and deadlines > queries answer during a long Start"],
    // Long steps: Kill then waits seconds for the rest of Start.
    stepDelayMs: 1500,
  },
  {
    defect: "stack",
    focus: /^hygiene > status/,
    fails: "hygiene > status messages carry no stack traces",
    says: "expected plain status messages, got stack traces in",
    passes: [],
  },
  {
    defect: "startok",
    focus: /^hygiene > status/,
    fails: "hygiene > status messages carry no stack traces",
    // A clean failure naming the call, not the kit's own "Error: no error" and its stack.
    says: "Start before Create: expected an error (this check reads its message), got OK",
    passes: [],
  },
  {
    defect: "secret",
    focus: /^hygiene/,
    fails: "hygiene > secrets never reach the plugin's logs",
    says: "expected the secret never to be logged, got it in the plugin's log line",
    passes: ["hygiene > status messages carry no stack traces"],
  },
  {
    defect: "cancel",
    focus: /^Create/,
    fails: "Create > a cancelled Create leaves no machine behind",
    says: "expected state NONE and a new Create to succeed, got state STOPPED",
    passes: ["Create > progress is well-formed and the stream ends OK", "Create > a second Create is ALREADY_EXISTS"],
  },
  {
    defect: "starting",
    focus: /^concurrency and deadlines > a deadline/,
    fails: "concurrency and deadlines > a deadline ends Start with DEADLINE_EXCEEDED and no transitional state",
    says: "expected a resting state, still STARTING after 5 s",
    passes: [],
    stepTimeoutMs: 5000,
  },
];

describe("each broken plugin fails on the check that names its defect", () => {
  for (const c of CASES) {
    test(
      c.defect,
      async () => {
        const lines: string[] = [];
        const report = await runConformance({
          plugin: brokenPlugin(c.defect),
          focus: c.focus,
          slowConfig: { stepDelayMs: c.stepDelayMs ?? 400 },
          secretConfig: { sharedDirs: [{ source: "/tmp", target: "/mnt/kit", password: SECRET_PLACEHOLDER }] },
          stepTimeoutMs: c.stepTimeoutMs ?? 20_000,
          // A plugin's start-up is not what these cases test: on a loaded machine it takes far longer than a step.
          startTimeoutMs: START_TIMEOUT_MS,
          onResult: (r) => lines.push(formatResult(r)),
        });
        const byId = new Map(report.results.map((r) => [checkId(r), r]));
        const failing = byId.get(c.fails);
        expect(failing?.status, lines.join("\n")).toBe("FAIL");
        expect(failing?.message).toContain(c.says);
        expect(failing?.message).not.toMatch(/the check itself failed|\n\s+at /);
        for (const id of c.passes) expect(byId.get(id)?.status, `${id}\n${lines.join("\n")}`).toBe("PASS");
      },
      TEST_TIMEOUT_MS,
    );
  }
});

test(
  "driverplug conformance on a broken plugin exits 1 and names the defect",
  async () => {
    const kit = await KitSandbox.create();
    try {
      const r = await kit.run(["--plugin", brokenPlugin("stop"), "--focus", "^lifecycle > Stop"]);
      expect(r.code, r.stderr).toBe(1);
      expect(resultLines(r.stdout)).toEqual([
        ["PASS", "lifecycle > Stop returns only once STOPPED"],
        ["FAIL", "lifecycle > Stop of a stopped machine is OK"],
      ]);
      expect(r.stdout).toContain("FAIL  lifecycle > Stop of a stopped machine is OK  (");
      expect(r.stdout).toContain(
        'Stop of a created machine: expected OK, got FAILED_PRECONDITION: "the machine is already stopped"',
      );
      expect(r.stdout.trimEnd().split("\n").pop()).toBe("1 passed, 1 failed, 0 skipped");
      expect(r.stderr).toContain("1 of 2 conformance checks failed");
    } finally {
      await kit.dispose();
    }
  },
  TEST_TIMEOUT_MS,
);

test(
  "--json prints the report as one JSON document, with the failure's message",
  async () => {
    const kit = await KitSandbox.create();
    try {
      const r = await kit.run(["--plugin", brokenPlugin("status"), "--focus", "^before Create > calls on", "--json"]);
      expect(r.code, r.stderr).toBe(1);
      const report = JSON.parse(r.stdout) as {
        driver: string;
        passed: number;
        failed: number;
        skipped: number;
        results: { category: string; name: string; status: string; message: string }[];
      };
      expect(report.driver).toBe("broken-status");
      expect([report.passed, report.failed, report.skipped]).toEqual([0, 1, 0]);
      expect(report.results[0]).toMatchObject({
        category: "before Create",
        name: "calls on the machine are NOT_FOUND",
        status: "FAIL",
      });
      expect(report.results[0]!.message).toContain("Stop before Create: expected NOT_FOUND, got FAILED_PRECONDITION");
    } finally {
      await kit.dispose();
    }
  },
  TEST_TIMEOUT_MS,
);

describe("a driver whose Create is quick by nature and whose Start is slow", () => {
  const CANCELLED_CREATE = "Create > a cancelled Create leaves no machine behind";
  const KILL_DURING_START = "lifecycle > Kill during Start leaves it STOPPED";
  const run = (options: { slowConfig?: Record<string, unknown>; slowStartConfig?: Record<string, unknown> }) =>
    runConformance({
      plugin: brokenPlugin("quickcreate"),
      focus: /^Create > a cancelled|^lifecycle > Kill during Start/,
      stepTimeoutMs: 20_000,
      startTimeoutMs: START_TIMEOUT_MS,
      ...options,
    });

  test(
    "with only a slow Start config: the cancelled-Create check skips, saying what would make it run, and Kill during Start runs",
    async () => {
      const report = await run({ slowStartConfig: { stepDelayMs: 400 } });
      const byId = new Map(report.results.map((r) => [checkId(r), r]));
      expect(byId.get(CANCELLED_CREATE)).toMatchObject({
        status: "SKIP",
        message: expect.stringContaining("give a slow Create config (--slow-create-config, or --slow-config"),
      });
      expect(byId.get(KILL_DURING_START)?.status, JSON.stringify(report.results)).toBe("PASS");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "with one slow config for both: the failure says exactly which option to drop or which check to skip",
    async () => {
      const report = await run({ slowConfig: { stepDelayMs: 400 } });
      const byId = new Map(report.results.map((r) => [checkId(r), r]));
      const cancelled = byId.get(CANCELLED_CREATE);
      expect(cancelled?.status).toBe("FAIL");
      // Which of the two the kit saw first depends on the race between the cancel and the stream's end.
      expect(cancelled?.message).toMatch(
        /^(Create ended OK before the cancel reached it|the machine existed already \(STOPPED\) at Create's first progress event), even with the slow Create config: /,
      );
      expect(cancelled?.message).toContain("give no slow Create config (--slow-create-config, not --slow-config)");
      expect(cancelled?.message).toContain(`--skip "^Create > a cancelled Create leaves no machine behind$"`);
      expect(byId.get(KILL_DURING_START)?.status).toBe("PASS");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "driverplug conformance takes --slow-start-config and --slow-create-config",
    async () => {
      const kit = await KitSandbox.create();
      try {
        const slow = join(kit.box.root, "slow.json");
        await writeFile(slow, '{"stepDelayMs": 400}');
        const r = await kit.run([
          "--plugin",
          brokenPlugin("quickcreate"),
          "--focus",
          "^Create > a cancelled|^lifecycle > Kill during Start",
          "--slow-start-config",
          slow,
        ]);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(resultLines(r.stdout)).toEqual([
          ["SKIP", CANCELLED_CREATE],
          ["PASS", KILL_DURING_START],
        ]);
        const help = await kit.run(["--help"]);
        expect(help.stdout).toContain("--slow-create-config <file.json>");
      } finally {
        await kit.dispose();
      }
    },
    TEST_TIMEOUT_MS,
  );
});

test("a driver without GetMachineStates skips its checks, saying which capability it lacks", async () => {
  const report = await runConformance({
    plugin: brokenPlugin("status"),
    focus: /^GetMachineStates/,
    stepTimeoutMs: 20_000,
  });
  expect(report.results.map((r) => [checkId(r), r.status, r.message])).toEqual([
    [
      "GetMachineStates > answers each machine as its GetState does, in order",
      "SKIP",
      "the driver does not advertise CAPABILITY_MACHINE_STATES",
    ],
    [
      "GetMachineStates > a machine it cannot answer is an error of its entry, not of the call",
      "SKIP",
      "the driver does not advertise CAPABILITY_MACHINE_STATES",
    ],
  ]);
}, 120_000);
