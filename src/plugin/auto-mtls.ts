// go-plugin's AutoMTLS (docs/protocol.md, section 12). When a host sets
// PLUGIN_CLIENT_CERT, the plugin serves TLS that requires exactly that client
// certificate (it is the only trusted root) and prints its own fresh
// self-signed certificate in handshake field 6 for the host to pin. The X.509
// code is imported only then, so a plain plugin's start-up does not pay for it.
import { ServerCredentials } from "@grpc/grpc-js";
import { PLUGIN_CLIENT_CERT } from "../protocol/env.js";

export interface TlsSetup {
  credentials: ServerCredentials;
  /** Unpadded base64 of the plugin's DER certificate, for handshake field 6. */
  serverCert: string;
}

/** Builds TLS credentials that require the host's client certificate (PEM). */
export type AutoMtlsProvider = (clientCertPem: string) => Promise<TlsSetup>;

export const selfSignedMtls: AutoMtlsProvider = async (clientCertPem) => {
  if (!clientCertPem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new Error(
      `${PLUGIN_CLIENT_CERT} does not hold a PEM certificate; the host must pass its client certificate there (or switch AutoMTLS off)`,
    );
  }
  const { certificateField, generateCertificate } = await import("../protocol/certificate.js");
  const own = await generateCertificate();
  return {
    credentials: ServerCredentials.createSsl(
      Buffer.from(clientCertPem),
      [{ private_key: Buffer.from(own.keyPem), cert_chain: Buffer.from(own.certPem) }],
      true,
    ),
    serverCert: certificateField(own.certDer),
  };
};

export async function transportSecurity(
  env: NodeJS.ProcessEnv,
  provider: AutoMtlsProvider = selfSignedMtls,
): Promise<TlsSetup> {
  const clientCert = env[PLUGIN_CLIENT_CERT];
  if (!clientCert) return { credentials: ServerCredentials.createInsecure(), serverCert: "" };
  return provider(clientCert);
}
