// `npm start`, the README's main job: a machine's life on the fake driver in a
// throw-away store, ending with proof that no plugin is left. Run as a user
// runs it: with warm plugins on (the default), the commands share one plugin,
// which the demo's last step ends; with them off, each command has its own.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const exec = promisify(execFile);
const DEMO = fileURLToPath(new URL("../../dist/src/cli/demo.js", import.meta.url));

/** The demo with the test runner's DRIVERPLUG_WARM=0 taken out, or set to `warm`. */
async function demo(warm?: string): Promise<string> {
  const env = { ...process.env };
  delete env.DRIVERPLUG_WARM;
  if (warm !== undefined) env.DRIVERPLUG_WARM = warm;
  return (await exec(process.execPath, [DEMO], { env })).stdout;
}

function pidsOf(out: string): number[] {
  return [...out.matchAll(/fake-(\d+)-[0-9a-f]+\.sock/g)].map((m) => Number(m[1]));
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("npm start", () => {
  it("runs every step on one warm plugin and leaves nothing behind", async () => {
    const out = await demo();
    expect(out).toContain("$ driverplug plugins stop");
    expect(out).toMatch(/Stopped the warm plugin of driver fake \(pid \d+\)/);
    expect(out).toMatch(/all 8 steps in \d+ ms, 1 plugin process launched and ended\n/);
    expect(out).toMatch(/it is gone now, as are its private directory and process \d+ \(checked for it\)\.\n$/);
    expect(out).not.toContain("NOT CLEAN");
    for (const pid of pidsOf(out)) expect(alive(pid), `plugin ${pid}`).toBe(false);
  });

  it("runs each command on its own plugin with warm plugins off, and leaves nothing behind", async () => {
    const out = await demo("0");
    expect(out).toMatch(/all 8 steps in \d+ ms, 7 plugin processes launched and ended\n/);
    expect(out).toMatch(/\(checked for all 7 plugins\)\.\n$/);
    expect(out).not.toContain("NOT CLEAN");
  });
});
