// The host's AutoMTLS option against the bundled fake plugin: the plugin
// requires the host's client certificate, the host pins the plugin's, and a
// same-user process without the key cannot use the socket.
import * as grpc from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DriverServiceClient, type DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { generateCertificate } from "../../src/protocol/certificate.js";
import { launch, ClientError, reattach, silentLogger, type PluginHandle } from "../../src/host/index.js";
import { childProcesses, entries, FIXTURE, makeHostTestEnv, type HostTestEnv } from "./host-test-env.js";

let env: HostTestEnv;
let plugin: PluginHandle<typeof DriverServiceService> | undefined;
beforeEach(async () => {
  env = await makeHostTestEnv();
});
afterEach(async () => {
  await plugin?.close();
  plugin = undefined;
  await env.cleanup();
});

function getInfo(client: DriverServiceClient): Promise<unknown> {
  return new Promise((resolve, reject) =>
    client.getInfo({}, new grpc.Metadata(), { deadline: Date.now() + 3000 }, (err, res) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

describe("AutoMTLS", () => {
  it("serves the typed client over mutual TLS on the private socket", async () => {
    plugin = await launch("fake", { socketBaseDir: env.base, logger: silentLogger, autoMtls: true });
    expect(plugin.record.autoMtls).toBe(true);
    expect((await plugin.client.getInfo({})).driverName).toBe("fake");
    await expect(plugin.client.getIp({})).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    await plugin.close();
    expect(plugin.exit?.code).toBe(0);
    expect(await entries(env.base)).toEqual([]);
  });

  it("refuses a same-user client in plain text or with a certificate of its own", async () => {
    plugin = await launch("fake", { socketBaseDir: env.base, logger: silentLogger, autoMtls: true });
    const address = `unix:${plugin.record.address}`;
    const plain = new DriverServiceClient(address, grpc.credentials.createInsecure());
    const stranger = await generateCertificate();
    // Trusts any server (its own cert as root would not verify the plugin's): only the client side is tested here.
    const impostor = new DriverServiceClient(
      address,
      grpc.credentials.createSsl(null, Buffer.from(stranger.keyPem), Buffer.from(stranger.certPem), {
        checkServerIdentity: () => undefined,
        rejectUnauthorized: false,
      }),
      { "grpc.ssl_target_name_override": "localhost" },
    );
    try {
      await expect(getInfo(plain)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      await expect(getInfo(impostor)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      // The host's own channel is unaffected.
      expect((await plugin.client.getInfo({})).driverName).toBe("fake");
    } finally {
      plain.close();
      impostor.close();
    }
  });

  it("refuses to reattach to an AutoMTLS plugin, whose client key only its launcher holds", async () => {
    plugin = await launch("fake", { socketBaseDir: env.base, logger: silentLogger, autoMtls: true });
    const err = await reattach(JSON.parse(JSON.stringify(plugin.record))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).reason).toBe("bad-record");
    expect((err as Error).message).toMatch(/AutoMTLS/);
  });

  it("refuses a plugin that answers an AutoMTLS launch without a certificate, and leaves nothing behind", async () => {
    const err = await launch("fixture", {
      executable: FIXTURE,
      args: ["serve"],
      socketBaseDir: env.base,
      logger: silentLogger,
      autoMtls: true,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).reason).toBe("untrusted-address");
    expect((err as Error).message).toMatch(/asked for AutoMTLS, but the plugin offers no certificate/);
    expect(await entries(env.base)).toEqual([]);
    expect(childProcesses()).toEqual([]);
  });
});
