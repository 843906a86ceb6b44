// A CLI whose stderr nobody reads (a stalled pipe) while a driver floods its
// progress stream: the CLI drops intermediate progress events instead of
// buffering them, finishes the operation, and still ends with the last event.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DRIVERPLUG, Sandbox } from "./driverplug-process.js";

const CHATTY = resolve(fileURLToPath(new URL("../fixtures/plugins/chatty-driver.mjs", import.meta.url)));
const EVENTS = 50_000;

let box: Sandbox;
beforeEach(async () => {
  box = await Sandbox.create();
});
afterEach(async () => {
  await box.dispose();
});

async function peakRssMib(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

describe("progress on a stalled stderr", () => {
  it("drops intermediate progress events rather than buffering them, and shows the last one", async () => {
    const pluginDir = join(box.root, "plugins");
    await mkdir(pluginDir);
    // The plugin's environment is an allowlist: the wrapper sets the fixture's own variable.
    await writeFile(
      join(pluginDir, "driverplug-driver-chatty"),
      `#!/bin/sh\nFIXTURE_PROGRESS_EVENTS=${EVENTS} exec '${CHATTY}'\n`,
    );
    await chmod(join(pluginDir, "driverplug-driver-chatty"), 0o755);
    const child = spawn(DRIVERPLUG, ["create", "--driver", "chatty", "m1"], {
      env: box.env({ DRIVERPLUG_PLUGIN_DIRS: pluginDir }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    // Nobody reads stderr until the create has finished.
    child.stderr.pause();
    let stdout = "";
    child.stdout.setEncoding("utf8");
    const created = new Promise<void>((resolveCreated) =>
      child.stdout.on("data", (s: string) => {
        stdout += s;
        if (stdout.includes("created")) resolveCreated();
      }),
    );
    const closed = once(child, "close");
    // A CLI that fails ends before it says "created": the checks below then show why.
    await Promise.race([created, closed]);
    // The whole flood has passed through the CLI; what it kept of it is bounded.
    const peak = await peakRssMib(child.pid!);
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.stderr.resume();
    // 'close' comes once the process exited and its output was read to the end.
    const [code] = (await closed) as [number | null];
    expect(code, stderr.slice(-2000)).toBe(0);
    expect(stdout).toMatch(/^Machine "m1" created/);
    const progressLines = stderr.split("\n").filter((l) => l.startsWith("  ["));
    expect(progressLines.length).toBeGreaterThan(0);
    // Most of the flood was dropped while the pipe was full...
    expect(progressLines.length).toBeLessThan(EVENTS / 10);
    // ...and the operation's last event still came through.
    expect(progressLines.at(-1)).toBe('  [100%] done: Machine "m1" created');
    expect(peak).toBeLessThan(400);
  }, 120_000);
});
