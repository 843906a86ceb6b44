// The seam for go-plugin's AutoMTLS (DESIGN.md protocol point 8). When a host
// sets PLUGIN_CLIENT_CERT, the plugin must serve TLS that requires that
// client certificate and print its own certificate in handshake field 6.
// Making a certificate needs an X.509 library; until one is chosen, a plugin
// given no provider refuses to start with a clear message rather than serve
// plaintext to a host that expects TLS.
import { ServerCredentials } from "@grpc/grpc-js";
import { PLUGIN_CLIENT_CERT } from "../protocol/env.js";

export interface TlsSetup {
  credentials: ServerCredentials;
  /** Unpadded base64 of the plugin's DER certificate, for handshake field 6. */
  serverCert: string;
}

/** Builds TLS credentials that require the host's client certificate (PEM). */
export type AutoMtlsProvider = (clientCertPem: string) => Promise<TlsSetup>;

export async function transportSecurity(env: NodeJS.ProcessEnv, provider: AutoMtlsProvider | undefined): Promise<TlsSetup> {
  const clientCert = env[PLUGIN_CLIENT_CERT];
  if (!clientCert) return { credentials: ServerCredentials.createInsecure(), serverCert: "" };
  if (!provider) {
    throw new Error(
      `the host asked for AutoMTLS (${PLUGIN_CLIENT_CERT} is set), which this plugin does not support yet; ` +
        `switch AutoMTLS off in the host (the socket is already private to its user)`,
    );
  }
  return provider(clientCert);
}
