// What launch() gives a plugin: the protocol variables in the child's
// environment only, a fresh private dir per plugin under a checked base, and
// a clear refusal of a base dir that is unsafe or too long.
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { launch, ClientError, silentLogger, type HostLogRecord } from "../../src/host/index.js";
import { launchFixture } from "./fixture-launch.js";
import { childProcesses, entries, FIXTURE, makeHostTestEnv, type HostTestEnv } from "./host-test-env.js";

let env: HostTestEnv;
beforeEach(async () => {
  env = await makeHostTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});

describe("the plugin's environment", () => {
  it("holds the cookie, versions, private dir and stdin lifeline, and drops TLS and multiplex variables", async () => {
    let resolve!: (r: HostLogRecord) => void;
    const seen = new Promise<HostLogRecord>((r) => (resolve = r));
    const plugin = await launchFixture(env, "env", {
      env: { FIXTURE_EXTRA: "yes", PLUGIN_CLIENT_CERT: "pem", PLUGIN_MULTIPLEX_GRPC: "true" },
      logger: { log: (r) => r.message === "env" && resolve(r) },
    });
    const record = await seen;
    await plugin.close();
    expect(record.fields).toEqual({
      env: {
        DRIVERPLUG_PLUGIN: "machine-driver",
        PLUGIN_PROTOCOL_VERSIONS: "1",
        PLUGIN_UNIX_SOCKET_DIR: plugin.record.privateDir,
        DRIVERPLUG_STDIN_LIFELINE: "1",
        PLUGIN_CLIENT_CERT: null,
        PLUGIN_MULTIPLEX_GRPC: null,
        FIXTURE_EXTRA: "yes",
      },
      stdinIsPipe: true,
    });
    // The host's own environment is untouched.
    expect(process.env.DRIVERPLUG_PLUGIN).toBeUndefined();
    expect(process.env.PLUGIN_UNIX_SOCKET_DIR).toBeUndefined();
    expect(process.env.DRIVERPLUG_STDIN_LIFELINE).toBeUndefined();
  });

  it("gives each plugin its own private 0700 dir, short enough for socket paths", async () => {
    const [a, b] = await Promise.all([launchFixture(env, "serve"), launchFixture(env, "serve")]);
    expect(a.record.privateDir).not.toBe(b.record.privateDir);
    const st = await fs.stat(a.record.privateDir);
    expect(st.mode & 0o777).toBe(0o700);
    expect(Buffer.byteLength(a.record.address)).toBeLessThanOrEqual(103);
    await Promise.all([a.close(), b.close()]);
  });
});

describe("the host's own process", () => {
  it("listens for SIGINT and SIGTERM only while plugins run", async () => {
    const before = {
      int: process.listenerCount("SIGINT"),
      term: process.listenerCount("SIGTERM"),
      exit: process.listenerCount("exit"),
    };
    const [a, b] = await Promise.all([launchFixture(env, "serve"), launchFixture(env, "serve")]);
    expect(process.listenerCount("SIGINT")).toBe(before.int + 1);
    expect(process.listenerCount("SIGTERM")).toBe(before.term + 1);
    expect(process.listenerCount("exit")).toBe(before.exit + 1);
    await a.close();
    expect(process.listenerCount("SIGINT")).toBe(before.int + 1);
    await b.close();
    expect({
      int: process.listenerCount("SIGINT"),
      term: process.listenerCount("SIGTERM"),
      exit: process.listenerCount("exit"),
    }).toEqual(before);
  });

  it("survives a Logger that throws", async () => {
    let calls = 0;
    const plugin = await launchFixture(env, "chatty", {
      logger: {
        log() {
          calls++;
          throw new Error("logger broke");
        },
      },
    });
    await expect.poll(() => calls).toBeGreaterThan(3);
    await expect(plugin.client.getIp({})).resolves.toEqual({ ip: "10.0.0.1" });
    await plugin.close();
  });
});

describe("the socket base dir", () => {
  async function baseFailure(socketBaseDir: string): Promise<ClientError> {
    const err = await launch("fixture", {
      executable: FIXTURE,
      args: ["serve"],
      socketBaseDir,
      logger: silentLogger,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).reason).toBe("socket-dir");
    expect(childProcesses()).toEqual([]);
    return err as ClientError;
  }

  it("refuses a base dir that is a symlink", async () => {
    await fs.mkdir(join(env.scratch, "real"), { mode: 0o700 });
    await fs.symlink(join(env.scratch, "real"), env.base);
    expect((await baseFailure(env.base)).message).toContain("is a symlink");
  });

  it("refuses a base dir that others can enter", async () => {
    await fs.mkdir(env.base, { mode: 0o755 });
    await fs.chmod(env.base, 0o755);
    expect((await baseFailure(env.base)).message).toContain("mode 0755");
  });

  it("refuses a base dir too long for socket paths, and suggests a shorter one", async () => {
    const long = join(env.root, "d".repeat(60));
    const err = await baseFailure(long);
    expect(err.message).toContain("103-byte limit");
    expect(await entries(long)).toEqual([]);
  });
});
