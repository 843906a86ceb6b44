// Protocol point 7 (health, controller, stdio, reflection) and the error
// contract: a DriverError's code and message reach the client, anything else
// is INTERNAL and the plugin keeps serving, chatter on stdout never breaks the
// protocol, and calls are cancelled, timed out and serialized as promised.
import { describe, expect, it } from "vitest";
import { createRequire } from "node:module";
import { join } from "node:path";
import { existsSync } from "node:fs";
import {
  loadPackageDefinition,
  Metadata,
  status,
  type Client,
  type ClientDuplexStream,
  type ServiceError,
} from "@grpc/grpc-js";
import { HealthCheckResponse_ServingStatus, HealthClient } from "../../generated/grpc/health/v1/health.js";
import { GRPCStdioClient, StdioData_Channel, type StdioData } from "../../generated/plugin/grpc_stdio.js";
import type { CreateResponse, DriverServiceClient } from "../../generated/driverplug/driver/v1/driver.js";
import { FIXTURES, collect, pluginEnv, spawnPlugin, unary, type RunningPlugin, pluginSandbox } from "./spawn-plugin.js";

const sandbox = pluginSandbox();

async function launch(command?: string): Promise<RunningPlugin> {
  const plugin = await spawnPlugin({
    env: pluginEnv({ PLUGIN_UNIX_SOCKET_DIR: sandbox.base }),
    ...(command ? { command } : {}),
  });
  sandbox.plugins.push(plugin);
  return plugin;
}

const misbehaving = () => launch(join(FIXTURES, "misbehaving-driver.mjs"));

const failure = <T>(p: Promise<T>) =>
  p.then(
    () => expect.fail("the call should have failed"),
    (err: ServiceError) => err,
  );

describe("errors a driver raises", () => {
  it("a DriverError's code and message reach the client unchanged", async () => {
    const driver = (await misbehaving()).driver();
    const err = await failure(unary((cb) => driver.getSshInfo({}, cb)));
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toBe('machine "ghost" does not exist');
  });

  it("an unexpected exception is INTERNAL with its message, the stack is only logged, and the plugin keeps serving", async () => {
    const plugin = await misbehaving();
    const driver = plugin.driver();
    const err = await failure(unary((cb) => driver.getMachineName({}, cb)));
    expect(err.code).toBe(status.INTERNAL);
    expect(err.details).toContain("boom from the driver");
    expect(err.details).not.toContain("misbehaving-driver.mjs");
    expect(plugin.stderr.join("\n")).toContain("misbehaving-driver.mjs");
    const again = await failure(unary((cb) => driver.getMachineName({}, cb)));
    expect(again.code).toBe(status.INTERNAL);
    expect((await unary<{ ready: boolean }>((cb) => driver.probe({}, cb))).ready).toBe(true);
  });

  it("a method the driver does not implement is UNIMPLEMENTED, naming it", async () => {
    const driver = (await misbehaving()).driver();
    const err = await failure(unary((cb) => driver.getIp({}, cb)));
    expect(err.code).toBe(status.UNIMPLEMENTED);
    expect(err.details).toBe('driver "misbehaving" does not implement GetIP');
  });
});

describe("driver output on stdout and stderr", () => {
  it("never reaches stdout, even from a module's top level: chatter becomes log lines, stdout info, stderr warn", async () => {
    const plugin = await misbehaving();
    const driver = plugin.driver();
    expect(plugin.handshakeLine).toMatch(/^1\|1\|unix\|/);
    await unary((cb) => driver.getBundleName({}, cb));
    await unary((cb) => driver.probe({}, cb));
    expect(plugin.laterStdout()).toBe("");
    const lines = plugin.stderr.map((l) => JSON.parse(l) as Record<string, unknown>);
    const chatter = lines.filter((l) => l["@module"] === "misbehaving.stdio");
    expect(chatter.map((l) => [l["@level"], l["@module"], l["@message"]])).toEqual([
      ["info", "misbehaving.stdio", "top-level chatter before serve()"],
      ["info", "misbehaving.stdio", "early chatter before the handshake"],
      ["info", "misbehaving.stdio", "driver chatter on stdout"],
      ["warn", "misbehaving.stdio", "driver chatter on stderr"],
    ]);
  });

  it("is streamed to a host reading plugin.GRPCStdio", async () => {
    const plugin = await misbehaving();
    const stdio = plugin.client(GRPCStdioClient);
    const stream = stdio.streamStdio({});
    const received: StdioData[] = [];
    const both = new Promise<void>((resolve) =>
      stream.on("data", (d: StdioData) => {
        received.push(d);
        if (received.length === 2) resolve();
      }),
    );
    stream.on("error", () => {});
    // Calls share one connection and reach the plugin in order: once this
    // unary call is answered, the stdio stream is registered.
    const driver = plugin.driver();
    await unary((cb) => driver.probe({}, cb));
    await unary((cb) => driver.getBundleName({}, cb));
    await both;
    stream.cancel();
    expect(received.map((d) => [d.channel, d.data.toString()])).toEqual([
      [StdioData_Channel.STDOUT, "driver chatter on stdout\n"],
      [StdioData_Channel.STDERR, "driver chatter on stderr\n"],
    ]);
  });
});

describe("plugin services", () => {
  it('health reports SERVING for "plugin" and "", NOT_FOUND for other services', async () => {
    const plugin = await launch();
    const health = plugin.client(HealthClient);
    for (const service of ["plugin", ""]) {
      expect(await unary((cb) => health.check({ service }, cb))).toEqual({
        status: HealthCheckResponse_ServingStatus.SERVING,
      });
    }
    const err = await failure(unary((cb) => health.check({ service: "nope" }, cb)));
    expect(err.code).toBe(status.NOT_FOUND);
  });

  it("health Watch streams SERVING, then NOT_SERVING when the plugin stops", async () => {
    const plugin = await launch();
    const health = plugin.client(HealthClient);
    const stream = health.watch({ service: "plugin" });
    const seen: number[] = [];
    stream.on("error", () => {});
    const ended = new Promise<void>((resolve) => {
      stream.on("data", (m: { status: number }) => {
        seen.push(m.status);
        if (seen.length === 1) plugin.child.kill("SIGTERM");
      });
      stream.on("end", resolve);
    });
    await ended;
    expect(seen).toEqual([HealthCheckResponse_ServingStatus.SERVING, HealthCheckResponse_ServingStatus.NOT_SERVING]);
    await plugin.exited;
    expect(existsSync(plugin.socketPath)).toBe(false);
  });

  it("server reflection lists every service the plugin serves", async () => {
    const plugin = await launch();
    const require = createRequire(import.meta.url);
    const protoLoader = require("@grpc/proto-loader") as typeof import("@grpc/proto-loader");
    const reflectionProto = join(
      require.resolve("@grpc/reflection/package.json"),
      "..",
      "build",
      "proto",
      "grpc",
      "reflection",
      "v1",
      "reflection.proto",
    );
    const pkg = loadPackageDefinition(protoLoader.loadSync(reflectionProto)) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: new (address: string, creds: unknown) => Client } } };
    };
    const client = plugin.client(pkg.grpc.reflection.v1.ServerReflection as never) as unknown as {
      ServerReflectionInfo(): ClientDuplexStream<
        unknown,
        { listServicesResponse?: { service: Array<{ name: string }> } }
      >;
    };
    const call = client.ServerReflectionInfo();
    const reply = new Promise<{ listServicesResponse?: { service: Array<{ name: string }> } }>((resolve, reject) => {
      call.once("data", resolve);
      call.once("error", reject);
    });
    call.write({ listServices: "" });
    const names = (await reply).listServicesResponse?.service.map((s) => s.name).sort();
    call.end();
    expect(names).toEqual([
      "driverplug.driver.v1.DriverService",
      "grpc.health.v1.Health",
      "plugin.GRPCController",
      "plugin.GRPCStdio",
    ]);
  });
});

describe("cancellation, deadlines and serialization", () => {
  const slowConfig = () =>
    Buffer.from(JSON.stringify({ machineName: "slow", storePath: join(sandbox.base, "store"), stepDelayMs: 300 }));

  async function slowDriver(): Promise<DriverServiceClient> {
    const driver = (await launch()).driver();
    await unary((cb) => driver.setConfig({ configJson: slowConfig() }, cb));
    return driver;
  }

  it("Kill during a slow Create aborts it at once (CANCELLED), runs once the Create has cleaned up (so it finds no machine: NOT_FOUND) and leaves no half-made machine", async () => {
    const driver = await slowDriver();
    const create = driver.create({});
    const firstStep = new Promise<CreateResponse>((resolve) => create.once("data", resolve));
    const outcome = collect<CreateResponse>(create).catch((err: ServiceError) => err);
    await firstStep;
    // "At once": the plugin ends the Create before it runs Kill, so its
    // failure reaches the client before Kill's answer on the same connection.
    const order: string[] = [];
    void outcome.then(() => order.push("create ended"));
    const killed = (await unary((cb) => driver.kill({}, cb)).catch((e: ServiceError) => e)) as ServiceError;
    order.push("kill answered");
    // Kill waited for the aborted Create's cleanup, which removed the half-made machine.
    expect(killed.code).toBe(status.NOT_FOUND);
    const err = (await outcome) as ServiceError;
    expect(order).toEqual(["create ended", "kill answered"]);
    expect(err.code).toBe(status.CANCELLED);
    expect(err.details).toBe("create was aborted by kill");
    expect(await unary((cb) => driver.getState({}, cb))).toEqual({ state: 0 });
    expect(existsSync(join(sandbox.base, "store", "id_ed25519"))).toBe(false);
  });

  it("a deadline that passes mid-call is DEADLINE_EXCEEDED and the aborted Create leaves nothing behind", async () => {
    const driver = await slowDriver();
    const create = driver.create({}, new Metadata(), { deadline: Date.now() + 450 });
    const err = (await collect(create).catch((e: ServiceError) => e)) as ServiceError;
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    // The next mutating call runs only after the aborted Create has cleaned up.
    await unary((cb) => driver.setConfig({ configJson: slowConfig() }, cb));
    expect(existsSync(join(sandbox.base, "store", "id_ed25519"))).toBe(false);
  });

  it("serializes mutating calls: a Stop sent during Create waits for it, while queries answer at once", async () => {
    const driver = await slowDriver();
    const created = collect<CreateResponse>(driver.create({}));
    const order: string[] = [];
    const stop = unary((cb) => driver.stop({}, cb)).then(() => order.push("stop"));
    const state = await unary<{ state: number }>((cb) => driver.getState({}, cb));
    order.push("getState");
    await created.then(() => order.push("create"));
    await stop;
    expect(state.state).toBe(0);
    expect(order).toEqual(["getState", "create", "stop"]);
  });
});
