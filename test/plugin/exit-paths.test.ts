// Protocol point 9: how a plugin ends. Every exit path removes the socket;
// SIGINT is ignored; the host dying stops the plugin within 2 s.
import { describe, expect, it } from "vitest";
import { status, type ServiceError } from "@grpc/grpc-js";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { GRPCControllerClient } from "../../generated/plugin/grpc_controller.js";
import {
  FIXTURES,
  pluginEnv,
  spawnPlugin,
  unary,
  FAKE_PLUGIN,
  type RunningPlugin,
  pluginSandbox,
} from "./spawn-plugin.js";

const sandbox = pluginSandbox();

async function launch(
  extra: Record<string, string> = {},
  options: { stdin?: "pipe"; command?: string } = {},
): Promise<RunningPlugin> {
  const plugin = await spawnPlugin({ env: pluginEnv({ PLUGIN_UNIX_SOCKET_DIR: sandbox.base, ...extra }), ...options });
  sandbox.plugins.push(plugin);
  return plugin;
}

/** Running, as opposed to gone or a zombie (an orphan's reaper may be slow to collect it). */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
};

/** For a process that is not our child there is no exit event: poll, with a bound. */
async function waitGone(pid: number, socketPath: string, limitMs: number): Promise<number> {
  const start = Date.now();
  while (alive(pid) || existsSync(socketPath)) {
    if (Date.now() - start > limitMs)
      throw new Error(`plugin ${pid} still running (or its socket still there) after ${limitMs} ms`);
    await sleep(25);
  }
  return Date.now() - start;
}

describe("plugin exit paths", () => {
  it("SIGTERM stops gracefully with exit code 0 and removes the socket", async () => {
    const plugin = await launch();
    plugin.child.kill("SIGTERM");
    expect(await plugin.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(plugin.socketPath)).toBe(false);
  });

  it("SIGTERM with a WatchState stream open still stops, after the grace period", async () => {
    const plugin = await launch();
    const driver = plugin.driver();
    await unary((cb) =>
      driver.setConfig(
        { configJson: Buffer.from(JSON.stringify({ machineName: "m", storePath: join(sandbox.base, "st") })) },
        cb,
      ),
    );
    const stream = driver.watchState({});
    // tryShutdown alone would wait for the stream forever: the plugin ends it itself.
    const streamEnded = new Promise<string>((resolve) => {
      stream.on("error", (err: ServiceError) => resolve(`error ${status[err.code]}`));
      stream.on("end", () => resolve("end"));
    });
    await new Promise((resolve) => stream.once("data", resolve));
    plugin.child.kill("SIGTERM");
    expect((await plugin.exited).code).toBe(0);
    expect(await streamEnded).toMatch(/^(end|error [A-Z_]+)$/);
    expect(existsSync(plugin.socketPath)).toBe(false);
  });

  it("the Shutdown RPC answers, then stops the plugin and removes the socket", async () => {
    const plugin = await launch();
    const controller = plugin.client(GRPCControllerClient);
    await unary((cb) => controller.shutdown({}, cb));
    expect(await plugin.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(plugin.socketPath)).toBe(false);
  });

  it("ignores SIGINT and keeps serving", async () => {
    const plugin = await launch();
    plugin.child.kill("SIGINT");
    const driver = plugin.driver();
    const info = await unary<{ driverName: string }>((cb) => driver.getInfo({}, cb));
    expect(info.driverName).toBe("fake");
    expect(plugin.child.exitCode).toBeNull();
    expect(plugin.stderr.join("\n")).toContain("ignoring SIGINT");
  });

  it("stops within 2 s and removes its socket when the host process is killed", async () => {
    // A stand-in host that starts the plugin with pipes and reports its pid and handshake.
    const hostScript = `
      const { spawn } = require("node:child_process");
      const child = spawn(${JSON.stringify(FAKE_PLUGIN)}, [], { stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.once("data", (d) => process.stdout.write(child.pid + " " + d.toString()));
      child.stderr.resume();
      setInterval(() => {}, 1000);
    `;
    const host = spawn(process.execPath, ["-e", hostScript], {
      env: pluginEnv({ PLUGIN_UNIX_SOCKET_DIR: sandbox.base }),
      stdio: ["ignore", "pipe", "inherit"],
    });
    const hostExit = new Promise((resolve) => host.once("exit", resolve));
    const line = await new Promise<string>((resolve) => host.stdout.once("data", (d: Buffer) => resolve(d.toString())));
    const [pidText, handshake] = line.trim().split(" ");
    const pid = Number(pidText);
    const socketPath = handshake!.split("|")[3]!;
    expect(existsSync(socketPath)).toBe(true);
    host.kill("SIGKILL");
    await hostExit;
    const took = await waitGone(pid, socketPath, 4000);
    expect(took).toBeLessThan(2000);
  });

  it("with DRIVERPLUG_STDIN_LIFELINE=1, stdin EOF stops the plugin and removes the socket", async () => {
    const plugin = await launch({ DRIVERPLUG_STDIN_LIFELINE: "1" }, { stdin: "pipe" });
    plugin.child.stdin!.end();
    expect((await plugin.exited).code).toBe(0);
    expect(existsSync(plugin.socketPath)).toBe(false);
    expect(plugin.stderr.join("\n")).toContain("lifeline");
  });

  it("without the lifeline, stdin EOF means nothing and the plugin keeps serving", async () => {
    const plugin = await launch({}, { stdin: "pipe" });
    plugin.child.stdin!.end();
    const driver = plugin.driver();
    const probe = await unary<{ ready: boolean }>((cb) => driver.probe({}, cb));
    expect(probe.ready).toBe(true);
    expect(plugin.child.exitCode).toBeNull();
  });

  it("an uncaught exception exits 1, logs the stack and removes the socket", async () => {
    const plugin = await launch({}, { command: join(FIXTURES, "misbehaving-driver.mjs") });
    const driver = plugin.driver();
    // The fixture answers, then throws outside the call: the crash may close
    // the connection before the answer gets out, so either outcome is fine.
    await unary((cb) => driver.getUrl({}, cb)).catch(() => undefined);
    expect((await plugin.exited).code).toBe(1);
    expect(existsSync(plugin.socketPath)).toBe(false);
    const log = plugin.stderr.join("\n");
    expect(log).toContain("plugin crashed: uncaught exception: crash outside any call");
    expect(log).toContain("misbehaving-driver.mjs");
  });

  it("an unhandled rejection exits 1 and removes the socket", async () => {
    const plugin = await launch({}, { command: join(FIXTURES, "misbehaving-driver.mjs") });
    const driver = plugin.driver();
    await unary((cb) => driver.getSharedDirs({}, cb)).catch(() => undefined);
    expect((await plugin.exited).code).toBe(1);
    expect(existsSync(plugin.socketPath)).toBe(false);
    expect(plugin.stderr.join("\n")).toContain("unhandled promise rejection: nobody handles this rejection");
  });
});
