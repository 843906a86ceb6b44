// Protocol points 1, 2, 5 and 6 as seen from outside a real plugin process:
// the cookie, version negotiation, the handshake line and the socket it names.
import { describe, expect, it } from "vitest";
import { chmod, chown, mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { DriverServiceClient } from "../../generated/driverplug/driver/v1/driver.js";
import { certificateFieldToPem, generateCertificate } from "../../src/protocol/certificate.js";
import { pluginEnv, unary, runToExit, spawnPlugin, type RunningPlugin, pluginSandbox } from "./spawn-plugin.js";

const sandbox = pluginSandbox();

async function launch(env: Record<string, string | undefined>): Promise<RunningPlugin> {
  const plugin = await spawnPlugin({ env: pluginEnv(env) });
  sandbox.plugins.push(plugin);
  return plugin;
}

describe("magic cookie", () => {
  it("without the cookie explains itself on stderr, prints nothing on stdout and exits 1", async () => {
    const run = await runToExit({
      env: pluginEnv({ DRIVERPLUG_PLUGIN: undefined, PLUGIN_UNIX_SOCKET_DIR: sandbox.base }),
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("This is a driverplug driver plugin");
    expect(run.stderr).toContain("Run it through a driverplug host");
    expect(await readdir(sandbox.base)).toEqual([]);
  });

  it("with a wrong cookie value refuses the same way", async () => {
    const run = await runToExit({
      env: pluginEnv({ DRIVERPLUG_PLUGIN: "something-else", PLUGIN_UNIX_SOCKET_DIR: sandbox.base }),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("not meant to be run directly");
  });
});

describe("handshake", () => {
  it("prints exactly 1|1|unix|<abs path>|grpc| and serves a 0600 socket in the host's 0700 dir", async () => {
    const plugin = await launch({ PLUGIN_UNIX_SOCKET_DIR: sandbox.base, PLUGIN_PROTOCOL_VERSIONS: "1" });
    expect(plugin.handshakeLine).toBe(`1|1|unix|${plugin.socketPath}|grpc|`);
    expect(plugin.socketPath).toMatch(new RegExp(`^${sandbox.base}/fake-${plugin.child.pid}-[0-9a-f]{8}\\.sock$`));
    const st = await stat(plugin.socketPath);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect((await stat(sandbox.base)).mode & 0o777).toBe(0o700);
  });

  it("prints a 7th field (false) only when the host sets PLUGIN_MULTIPLEX_GRPC", async () => {
    const plugin = await launch({ PLUGIN_UNIX_SOCKET_DIR: sandbox.base, PLUGIN_MULTIPLEX_GRPC: "true" });
    expect(plugin.handshakeLine).toBe(`1|1|unix|${plugin.socketPath}|grpc||false`);
  });

  it("with PLUGIN_CLIENT_CERT serves mTLS, prints its certificate in field 6 and accepts only that client", async () => {
    const host = await generateCertificate();
    const stranger = await generateCertificate();
    const plugin = await launch({ PLUGIN_UNIX_SOCKET_DIR: sandbox.base, PLUGIN_CLIENT_CERT: host.certPem });
    const field = plugin.handshake.serverCert;
    expect(field).toMatch(/^[A-Za-z0-9+/]+$/);
    const pinned = Buffer.from(certificateFieldToPem(field));
    const client = (who: { keyPem: string; certPem: string }) =>
      new DriverServiceClient(
        `unix:${plugin.socketPath}`,
        credentials.createSsl(pinned, Buffer.from(who.keyPem), Buffer.from(who.certPem)),
        {
          "grpc.ssl_target_name_override": "localhost",
        },
      );
    const trusted = client(host);
    const untrusted = client(stranger);
    try {
      const info = await unary<{ driverName: string }>((cb) =>
        trusted.getInfo({}, new Metadata(), { deadline: Date.now() + 5000 }, cb),
      );
      expect(info.driverName).toBe("fake");
      const err = await unary((cb) => untrusted.getInfo({}, new Metadata(), { deadline: Date.now() + 2000 }, cb)).catch(
        (e: ServiceError) => e,
      );
      expect((err as ServiceError).code).toBe(status.UNAVAILABLE);
    } finally {
      trusted.close();
      untrusted.close();
    }
  });

  it("refuses a PLUGIN_CLIENT_CERT that is not a certificate, before creating a socket", async () => {
    const run = await runToExit({
      env: pluginEnv({ PLUGIN_UNIX_SOCKET_DIR: sandbox.base, PLUGIN_CLIENT_CERT: "garbage" }),
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("PLUGIN_CLIENT_CERT does not hold a PEM certificate");
    expect(await readdir(sandbox.base)).toEqual([]);
  });
});

describe("protocol version negotiation", () => {
  it("picks the highest common version from PLUGIN_PROTOCOL_VERSIONS", async () => {
    const plugin = await launch({ PLUGIN_UNIX_SOCKET_DIR: sandbox.base, PLUGIN_PROTOCOL_VERSIONS: "3,1,2" });
    expect(plugin.handshake.appVersion).toBe(1);
  });

  it("uses its highest version when PLUGIN_PROTOCOL_VERSIONS is absent", async () => {
    const plugin = await launch({ PLUGIN_UNIX_SOCKET_DIR: sandbox.base, PLUGIN_PROTOCOL_VERSIONS: undefined });
    expect(plugin.handshake.appVersion).toBe(1);
  });

  it("fails naming both lists when there is no common version", async () => {
    const run = await runToExit({
      env: pluginEnv({ PLUGIN_UNIX_SOCKET_DIR: sandbox.base, PLUGIN_PROTOCOL_VERSIONS: "2,3" }),
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("this side speaks [1]");
    expect(run.stderr).toContain("the other side offers [2, 3]");
    expect(await readdir(sandbox.base)).toEqual([]);
  });
});

describe("socket directory resolution", () => {
  it("creates a missing base dir 0700 (MACHINE_PLUGIN_SOCKET_DIR) and puts the socket in it", async () => {
    const dir = join(sandbox.base, "sockets");
    const plugin = await launch({ MACHINE_PLUGIN_SOCKET_DIR: dir });
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(plugin.socketPath.startsWith(`${dir}/`)).toBe(true);
  });

  it("uses $XDG_RUNTIME_DIR/driverplug when no directory variable is set", async () => {
    const plugin = await launch({ XDG_RUNTIME_DIR: sandbox.base });
    expect(plugin.socketPath.startsWith(`${join(sandbox.base, "driverplug")}/`)).toBe(true);
  });

  it("gives two plugins in one base dir distinct sockets", async () => {
    const dir = join(sandbox.base, "shared");
    const [a, b] = await Promise.all([
      launch({ MACHINE_PLUGIN_SOCKET_DIR: dir }),
      launch({ MACHINE_PLUGIN_SOCKET_DIR: dir }),
    ]);
    expect(a.socketPath).not.toBe(b.socketPath);
    expect((await readdir(dir)).sort()).toHaveLength(2);
  });

  it("reclaims a dead plugin's stale socket in a shared base dir but keeps a live one", async () => {
    const dir = join(sandbox.base, "shared");
    const dead = await launch({ MACHINE_PLUGIN_SOCKET_DIR: dir });
    const alive = await launch({ MACHINE_PLUGIN_SOCKET_DIR: dir });
    // SIGKILL: the plugin gets no chance to remove its socket.
    await dead.close();
    const stale = basename(dead.socketPath);
    expect(await readdir(dir)).toContain(stale);
    const next = await launch({ MACHINE_PLUGIN_SOCKET_DIR: dir });
    const names = await readdir(dir);
    expect(names).not.toContain(stale);
    expect(names).toContain(basename(alive.socketPath));
    expect(names).toContain(basename(next.socketPath));
    expect(next.stderr.join("\n")).toContain("removed a stale socket");
  });

  it("never reclaims in a host's private dir, and never touches a file that is not a socket", async () => {
    const file = join(sandbox.base, "fake-1-00000000.sock");
    await writeFile(file, "not a socket", { mode: 0o600 });
    const plugin = await launch({ PLUGIN_UNIX_SOCKET_DIR: sandbox.base });
    expect(await readdir(sandbox.base)).toContain("fake-1-00000000.sock");
    expect(plugin.socketPath).not.toBe(file);
  });

  it("serves a 0660 socket of the requested group with PLUGIN_UNIX_SOCKET_GROUP", async () => {
    const dir = join(sandbox.base, "g");
    await mkdir(dir, { mode: 0o700 });
    await chown(dir, 0, 65534);
    await chmod(dir, 0o750);
    const plugin = await launch({ PLUGIN_UNIX_SOCKET_DIR: dir, PLUGIN_UNIX_SOCKET_GROUP: "65534" });
    const st = await stat(plugin.socketPath);
    expect(st.mode & 0o777).toBe(0o660);
    expect(st.gid).toBe(65534);
  });
});
