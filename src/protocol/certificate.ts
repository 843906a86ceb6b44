// AutoMTLS certificates, as go-plugin makes them: a self-signed ECDSA P-256
// certificate for "localhost", usable as its own CA, so the other side can pin
// it. The plugin prints its certificate in handshake field 6; the host passes
// its own in PLUGIN_CLIENT_CERT. The X.509 library is loaded only when
// AutoMTLS is asked for: it is not on a plain plugin's start-up path.
import { webcrypto } from "node:crypto";

export interface Certificate {
  certPem: string;
  keyPem: string;
  certDer: Buffer;
}

/**
 * ECDSA P-256 keys take about a millisecond to make, RSA 2048 a hundred or
 * more: start-up stays fast. The certificate lives as long as the process
 * that made it; it is pinned, never looked up, so a long validity (as
 * go-plugin's) only keeps long-lived plugins from expiring under their host.
 */
export async function generateCertificate(): Promise<Certificate> {
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  // Node's webcrypto is the standard Crypto the library expects; the types differ only by lib (DOM).
  x509.cryptoProvider.set(webcrypto as unknown as ReturnType<typeof x509.cryptoProvider.get>);
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
      .toString("hex")
      .replace(/^[89a-f]/, "1"),
    name: "CN=localhost, O=driverplug",
    notBefore: new Date(now - 30_000),
    notAfter: new Date(now + 30 * 365 * 24 * 3600 * 1000),
    signingAlgorithm: alg,
    keys: keys as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]["keys"],
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.keyCertSign,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "localhost" }]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  return {
    certPem: cert.toString("pem") + "\n",
    keyPem: toPem("PRIVATE KEY", pkcs8),
    certDer: Buffer.from(cert.rawData),
  };
}

/** Handshake field 6: the DER certificate in base64 without padding. */
export function certificateField(der: Buffer): string {
  return der.toString("base64").replace(/=+$/, "");
}

/** The PEM form of a handshake's field 6, for TLS libraries. */
export function certificateFieldToPem(field: string): string {
  return toPem("CERTIFICATE", Buffer.from(field, "base64"));
}

function toPem(label: string, der: Buffer): string {
  const body = der
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}
