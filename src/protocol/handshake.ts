// The handshake line a plugin prints as its first stdout line, in go-plugin's
// format: CORE|APP|NETWORK|ADDR|PROTOCOL|SERVERCERT[|MULTIPLEX].

/** go-plugin's core protocol version; anything else is not a go-plugin plugin. */
export const CORE_PROTOCOL_VERSION = 1;

export interface Handshake {
  coreVersion: number;
  appVersion: number;
  network: "unix" | "tcp";
  address: string;
  protocol: "grpc" | "netrpc";
  /** Unpadded base64 of the plugin's DER certificate under AutoMTLS, else "". */
  serverCert: string;
  /** Present only when the host set PLUGIN_MULTIPLEX_GRPC. */
  multiplex?: boolean;
}

export class HandshakeError extends Error {
  override name = "HandshakeError";
}

/** The line to print (without the newline). */
export function formatHandshake(h: Handshake): string {
  const fields = [h.coreVersion, h.appVersion, h.network, h.address, h.protocol, h.serverCert];
  if (h.multiplex !== undefined) fields.push(String(h.multiplex));
  return fields.join("|");
}

const MAX_LINE = 64 * 1024;

/** Parses and checks one handshake line; every failure says what was wrong. */
export function parseHandshake(line: string): Handshake {
  const text = line.replace(/\r?\n$/, "");
  const shown = JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text);
  const bad = (why: string) =>
    new HandshakeError(
      `invalid handshake line ${shown}: ${why}; a plugin's first stdout line must be ` +
        `CORE|APP|NETWORK|ADDRESS|PROTOCOL|CERT, e.g. "1|1|unix|/run/p/x.sock|grpc|"`,
    );
  if (text.length > MAX_LINE) throw bad(`longer than ${MAX_LINE} bytes`);
  // A NUL, CR or escape in an address would pass the path checks as text yet name another file or garble logs.
  if (/[\x00-\x1f\x7f]/.test(text)) throw bad("it holds control characters, which no field may contain");
  const fields = text.split("|");
  if (fields.length < 6 || fields.length > 7) throw bad(`${fields.length} fields, expected 6 (or 7 with multiplexing)`);
  const [core, app, network, address, protocol, cert, multiplex] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
    string?,
  ];
  if (!/^[0-9]+$/.test(core)) throw bad(`core version ${JSON.stringify(core)} is not a number`);
  if (Number(core) !== CORE_PROTOCOL_VERSION) throw bad(`core version ${core} is not ${CORE_PROTOCOL_VERSION}`);
  if (!/^[0-9]{1,9}$/.test(app) || Number(app) === 0)
    throw bad(`app version ${JSON.stringify(app)} is not a positive number`);
  if (network !== "unix" && network !== "tcp")
    throw bad(`network ${JSON.stringify(network)} is neither "unix" nor "tcp"`);
  if (address === "") throw bad("the address is empty");
  if (protocol !== "grpc" && protocol !== "netrpc")
    throw bad(`protocol ${JSON.stringify(protocol)} is neither "grpc" nor "netrpc"`);
  if (cert !== "" && !/^[A-Za-z0-9+/]+$/.test(cert)) throw bad("the certificate field is not unpadded base64");
  if (multiplex !== undefined && multiplex !== "true" && multiplex !== "false")
    throw bad(`multiplex field ${JSON.stringify(multiplex)} is neither "true" nor "false"`);
  const out: Handshake = {
    coreVersion: Number(core),
    appVersion: Number(app),
    network,
    address,
    protocol,
    serverCert: cert,
  };
  if (multiplex !== undefined) out.multiplex = multiplex === "true";
  return out;
}
