// AutoMTLS certificates: what they contain, and that two of them give a
// mutually authenticated gRPC connection over a Unix socket, pinned both ways.
import * as grpc from "@grpc/grpc-js";
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  HealthCheckResponse_ServingStatus,
  HealthClient,
  HealthService,
} from "../../generated/grpc/health/v1/health.js";
import { certificateField, certificateFieldToPem, generateCertificate } from "../../src/protocol/certificate.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function serveHealth(server: grpc.Server, creds: grpc.ServerCredentials): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "dp-"));
  const address = `unix:${join(dir, "s.sock")}`;
  server.addService(HealthService, {
    check: (_call: unknown, cb: grpc.sendUnaryData<HealthCheckResponse>) =>
      cb(null, { status: HealthCheckResponse_ServingStatus.SERVING }),
    watch: () => undefined,
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(address, creds, (err) => (err ? reject(err) : resolve())),
  );
  cleanups.push(async () => {
    server.forceShutdown();
    await rm(dir, { recursive: true, force: true });
  });
  return address;
}

type HealthCheckResponse = { status: HealthCheckResponse_ServingStatus };

function check(client: HealthClient): Promise<HealthCheckResponse> {
  return new Promise((resolve, reject) =>
    client.check({ service: "" }, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err, res) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

describe("AutoMTLS certificate", () => {
  it("is a self-signed ECDSA P-256 CA certificate for localhost", async () => {
    const { certPem, certDer } = await generateCertificate();
    const cert = new X509Certificate(certPem);
    expect(cert.subject).toContain("CN=localhost");
    expect(cert.subjectAltName).toBe("DNS:localhost");
    expect(cert.ca).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(new Date(cert.validFrom).getTime()).toBeLessThanOrEqual(Date.now());
    expect(Buffer.compare(cert.raw, certDer)).toBe(0);
  });

  it("round-trips through the handshake's unpadded base64 field", async () => {
    const { certPem, certDer } = await generateCertificate();
    const field = certificateField(certDer);
    expect(field).toMatch(/^[A-Za-z0-9+/]+$/);
    expect(new X509Certificate(certificateFieldToPem(field)).fingerprint256).toBe(
      new X509Certificate(certPem).fingerprint256,
    );
  });

  it("gives a mutually authenticated connection that refuses an unpinned client", async () => {
    const [server, client, stranger] = await Promise.all([
      generateCertificate(),
      generateCertificate(),
      generateCertificate(),
    ]);
    const address = await serveHealth(
      new grpc.Server(),
      grpc.ServerCredentials.createSsl(
        Buffer.from(client.certPem),
        [{ private_key: Buffer.from(server.keyPem), cert_chain: Buffer.from(server.certPem) }],
        true,
      ),
    );
    const pinned = certificateFieldToPem(certificateField(server.certDer));
    const dial = (who: typeof client) =>
      new HealthClient(
        address,
        grpc.credentials.createSsl(Buffer.from(pinned), Buffer.from(who.keyPem), Buffer.from(who.certPem)),
        {
          "grpc.ssl_target_name_override": "localhost",
          "grpc.default_authority": "localhost",
        },
      );
    const good = dial(client);
    const bad = dial(stranger);
    try {
      expect((await check(good)).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      await expect(check(bad)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      good.close();
      bad.close();
    }
  });
});
