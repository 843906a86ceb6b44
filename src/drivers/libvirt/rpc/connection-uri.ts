// The libvirt URIs the driver accepts, parsed into what a transport needs:
//   qemu:///session (the default), qemu:///system,
//   qemu+ssh://[user@]host[:port]/session|system[?keyfile=/abs/path]
// Everything else is refused with a message naming the part that is wrong,
// because the host, user and key file end up as ssh arguments: a host that
// starts with "-" or a query parameter we do not understand must never reach
// a command line.

export type LibvirtMode = "session" | "system";

export interface LocalUri {
  kind: "local";
  mode: LibvirtMode;
  /** The URI in canonical form (also the name CONNECT_OPEN is given). */
  text: string;
}

export interface SshUri {
  kind: "ssh";
  mode: LibvirtMode;
  user: string | undefined;
  host: string;
  port: number | undefined;
  keyfile: string | undefined;
  text: string;
  /** The URI the remote side opens (virt-ssh-helper's argument, CONNECT_OPEN's name). */
  remoteUri: string;
}

export type LibvirtUri = LocalUri | SshUri;

export const DEFAULT_URI = "qemu:///session";

/** A URI the driver does not accept; `part` names what is wrong. */
export class UriError extends Error {
  override name = "UriError";
  constructor(
    readonly part: string,
    message: string,
  ) {
    super(message);
  }
}

const SUPPORTED = "qemu:///session, qemu:///system or qemu+ssh://[user@]host[:port]/session[?keyfile=/path/to/key]";
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/;
const USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

function fail(part: string, uri: string, why: string): never {
  throw new UriError(part, `libvirt URI ${JSON.stringify(uri)}: ${why} (supported: ${SUPPORTED})`);
}

function modeOf(uri: string, path: string): LibvirtMode {
  if (path === "/session") return "session";
  if (path === "/system") return "system";
  return fail("path", uri, `the path must be /session or /system, not ${JSON.stringify(path)}`);
}

export function parseLibvirtUri(uri: string): LibvirtUri {
  if (/[\x00-\x20\x7f]/.test(uri)) fail("uri", uri, "it contains spaces or control characters");
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1];
  if (!scheme) fail("scheme", uri, "it has no scheme");
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    fail("uri", uri, "it is not a URI");
  }
  if (url.hash) fail("fragment", uri, `the fragment ${JSON.stringify(url.hash)} is not allowed`);
  if (scheme === "qemu") {
    if (url.host !== "")
      fail("host", uri, `a local URI has no host; for host ${JSON.stringify(url.host)} use qemu+ssh://`);
    if (url.username || url.password) fail("user", uri, "a local URI has no user");
    if (url.search) fail("query", uri, `a local URI takes no parameters (${JSON.stringify(url.search)})`);
    const mode = modeOf(uri, url.pathname);
    return { kind: "local", mode, text: `qemu:///${mode}` };
  }
  if (scheme !== "qemu+ssh") fail("scheme", uri, `the scheme ${JSON.stringify(scheme)} is not supported`);
  if (url.password) fail("password", uri, "a password in the URI is not supported; use key authentication (keyfile=)");
  const user = url.username ? decodeURIComponent(url.username) : undefined;
  if (user !== undefined && !USER.test(user))
    fail("user", uri, `the user ${JSON.stringify(user)} is not a valid user name`);
  const host = url.hostname;
  if (!host) fail("host", uri, "qemu+ssh:// needs a host");
  if (!HOST.test(host)) fail("host", uri, `the host ${JSON.stringify(host)} is not a host name or IP address`);
  let port: number | undefined;
  if (url.port) {
    port = Number(url.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail("port", uri, `the port ${url.port} is not 1-65535`);
  }
  const mode = modeOf(uri, url.pathname);
  let keyfile: string | undefined;
  for (const [name, value] of url.searchParams) {
    if (name !== "keyfile")
      fail(`query parameter ${name}`, uri, `the parameter ${JSON.stringify(name)} is not supported (only keyfile=)`);
    if (keyfile !== undefined) fail("query parameter keyfile", uri, "keyfile= is given twice");
    if (!value.startsWith("/") || /[\x00-\x1f\x7f]/.test(value)) {
      fail("query parameter keyfile", uri, `keyfile must be an absolute path, not ${JSON.stringify(value)}`);
    }
    keyfile = value;
  }
  const auth = user ? `${encodeURIComponent(user)}@` : "";
  const hostPort = port ? `${host}:${port}` : host;
  const query = keyfile ? `?keyfile=${encodeURIComponent(keyfile).replace(/%2F/g, "/")}` : "";
  return {
    kind: "ssh",
    mode,
    user,
    host,
    port,
    keyfile,
    text: `qemu+ssh://${auth}${hostPort}/${mode}${query}`,
    remoteUri: `qemu:///${mode}`,
  };
}
