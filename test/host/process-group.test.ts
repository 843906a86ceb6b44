// A launched plugin leads a process group of its own: close() lets the
// plugin stop by its own path first, then ends what it left in its group and
// says so (handle.leftBehind); a child that made a session of its own (as a VM
// meant to outlive its plugin) is left alone; a host that exits takes the
// plugin's whole group down with it.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { launch, silentLogger } from "../../src/host/index.js";
import { FIXTURES, REPO } from "../plugin/spawn-plugin.js";
import { makeHostTestEnv, processExists, type HostTestEnv } from "./host-test-env.js";

const exec = promisify(execFile);
const LEAVER = join(FIXTURES, "child-leaving-driver.mjs");

let env: HostTestEnv;
const strays: number[] = [];
beforeEach(async () => {
  env = await makeHostTestEnv();
});
afterEach(async () => {
  // Whatever a failing test left, and the session child the host rightly does not touch.
  for (const pid of strays.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone.
    }
  }
  await env.cleanup();
});

interface ChildPids {
  group: number;
  session?: number;
}

async function childPids(file: string): Promise<ChildPids> {
  for (let i = 0; i < 200; i++) {
    const text = await readFile(file, "utf8").catch(() => "");
    if (text.endsWith("\n")) {
      const pids = JSON.parse(text) as ChildPids;
      strays.push(pids.group, ...(pids.session ? [pids.session] : []));
      return pids;
    }
    await sleep(25);
  }
  throw new Error(`the plugin never wrote its children's pids to ${file}`);
}

function pgrpOf(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/stat`, "utf8").then((s) => Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[2]));
}

function launchLeaver(extra: Record<string, string>) {
  return launch("leaver", {
    executable: LEAVER,
    socketBaseDir: env.base,
    logger: silentLogger,
    env: { FIXTURE_CHILD_PIDS: join(env.scratch, "children.json"), ...extra },
    graceMs: 1000,
    termGraceMs: 1000,
  });
}

describe("a launched plugin's process group", () => {
  it("is the plugin's own, and close() ends the child it left there and names it", async () => {
    const plugin = await launchLeaver({ FIXTURE_SESSION_CHILD: "1" });
    const pids = await childPids(join(env.scratch, "children.json"));
    expect(await pgrpOf(plugin.pid)).toBe(plugin.pid);
    expect(await pgrpOf(pids.group)).toBe(plugin.pid);
    expect(await pgrpOf(pids.session!)).toBe(pids.session);
    await plugin.close();
    expect(processExists(pids.group)).toBe(false);
    expect(plugin.leftBehind).toEqual([{ pid: pids.group, command: "sleep 600" }]);
    // A child in a session of its own left the group on purpose (a VM outliving its plugin): untouched.
    expect(processExists(pids.session!)).toBe(true);
  });

  it("lets the plugin end its children by its own stop path first: then nothing is left behind", async () => {
    const plugin = await launchLeaver({ FIXTURE_TIDY: "1" });
    const pids = await childPids(join(env.scratch, "children.json"));
    await plugin.close();
    expect(processExists(pids.group)).toBe(false);
    expect(plugin.leftBehind).toEqual([]);
  });

  it("is ended with the host when the host exits with its plugin running", async () => {
    const host = `
      import { launch, silentLogger } from ${JSON.stringify(join(REPO, "dist", "src", "host", "index.js"))};
      const plugin = await launch("leaver", {
        executable: ${JSON.stringify(LEAVER)},
        socketBaseDir: ${JSON.stringify(env.base)},
        logger: silentLogger,
        env: { FIXTURE_CHILD_PIDS: ${JSON.stringify(join(env.scratch, "host-children.json"))} },
      });
      await plugin.client.getInfo({});
      console.log(plugin.pid);
      process.exit(0);
    `;
    const { stdout } = await exec(process.execPath, ["--input-type=module", "-e", host]);
    const pluginPid = Number(stdout.trim());
    const pids = await childPids(join(env.scratch, "host-children.json"));
    for (let i = 0; i < 100 && (processExists(pluginPid) || processExists(pids.group)); i++) await sleep(20);
    expect(processExists(pluginPid)).toBe(false);
    expect(processExists(pids.group)).toBe(false);
  });
});
