// The host's half of AutoMTLS (go-plugin's): a fresh client certificate goes
// to the plugin in PLUGIN_CLIENT_CERT, and the certificate the plugin prints
// in its handshake is the only one the channel trusts (pinned, no CA lookup).
import { credentials, type ChannelCredentials, type ChannelOptions } from "@grpc/grpc-js";
import { X509Certificate } from "node:crypto";
import { certificateFieldToPem, generateCertificate, type Certificate } from "../protocol/certificate.js";

export type ClientCertificate = Certificate;

export function makeClientCertificate(): Promise<ClientCertificate> {
  return generateCertificate();
}

/** Throws a sentence when the handshake's certificate field is not a usable certificate. */
export function pinnedServerCertificate(field: string): string {
  const pem = certificateFieldToPem(field);
  try {
    new X509Certificate(pem);
  } catch (err) {
    throw new Error(`its certificate field is not an X.509 certificate (${(err as Error).message})`, { cause: err });
  }
  return pem;
}

export function tlsChannel(
  serverPem: string,
  client: ClientCertificate,
): { credentials: ChannelCredentials; options: ChannelOptions } {
  return {
    credentials: credentials.createSsl(Buffer.from(serverPem), Buffer.from(client.keyPem), Buffer.from(client.certPem)),
    // The plugin's certificate names "localhost"; the address is a socket path.
    options: { "grpc.ssl_target_name_override": "localhost", "grpc.default_authority": "localhost" },
  };
}
