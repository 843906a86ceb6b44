// The errors the libvirt connection raises, each carrying the gRPC status a
// driver should answer with, mapped here in one place: libvirt's own error
// records (remote_error: a code such as VIR_ERR_NO_DOMAIN and the daemon's
// message) and the connection itself going away.
import { Code } from "../../../plugin/index.js";
import type { RemoteError } from "./remote-types.js";

/** virErrorNumber values the driver tells apart (virterror.h). */
export enum VirErrorNumber {
  INTERNAL_ERROR = 1,
  NO_SUPPORT = 3,
  NO_CONNECT = 5,
  INVALID_ARG = 8,
  OPERATION_FAILED = 9,
  XML_ERROR = 27,
  DOM_EXIST = 28,
  OPERATION_DENIED = 29,
  XML_DETAIL = 35,
  NETWORK_EXIST = 37,
  SYSTEM_ERROR = 38,
  RPC = 39,
  NO_DOMAIN = 42,
  NO_NETWORK = 43,
  AUTH_FAILED = 45,
  NO_STORAGE_POOL = 49,
  NO_STORAGE_VOL = 50,
  OPERATION_INVALID = 55,
  CONFIG_UNSUPPORTED = 67,
  OPERATION_TIMEOUT = 68,
  ARGUMENT_UNSUPPORTED = 74,
  OPERATION_ABORTED = 78,
  AUTH_CANCELLED = 79,
  OPERATION_UNSUPPORTED = 84,
  AGENT_UNRESPONSIVE = 86,
  RESOURCE_BUSY = 87,
  ACCESS_DENIED = 88,
  STORAGE_VOL_EXIST = 90,
  XML_INVALID_SCHEMA = 92,
  AUTH_UNAVAILABLE = 94,
}

const STATUS_OF: ReadonlyMap<number, Code> = new Map([
  [VirErrorNumber.NO_DOMAIN, Code.NOT_FOUND],
  [VirErrorNumber.NO_NETWORK, Code.NOT_FOUND],
  [VirErrorNumber.NO_STORAGE_POOL, Code.NOT_FOUND],
  [VirErrorNumber.NO_STORAGE_VOL, Code.NOT_FOUND],
  [VirErrorNumber.DOM_EXIST, Code.ALREADY_EXISTS],
  [VirErrorNumber.NETWORK_EXIST, Code.ALREADY_EXISTS],
  [VirErrorNumber.STORAGE_VOL_EXIST, Code.ALREADY_EXISTS],
  [VirErrorNumber.INVALID_ARG, Code.INVALID_ARGUMENT],
  [VirErrorNumber.XML_ERROR, Code.INVALID_ARGUMENT],
  [VirErrorNumber.XML_DETAIL, Code.INVALID_ARGUMENT],
  [VirErrorNumber.XML_INVALID_SCHEMA, Code.INVALID_ARGUMENT],
  [VirErrorNumber.OPERATION_INVALID, Code.FAILED_PRECONDITION],
  [VirErrorNumber.CONFIG_UNSUPPORTED, Code.FAILED_PRECONDITION],
  [VirErrorNumber.NO_SUPPORT, Code.UNIMPLEMENTED],
  [VirErrorNumber.ARGUMENT_UNSUPPORTED, Code.UNIMPLEMENTED],
  [VirErrorNumber.OPERATION_UNSUPPORTED, Code.UNIMPLEMENTED],
  [VirErrorNumber.OPERATION_TIMEOUT, Code.DEADLINE_EXCEEDED],
  [VirErrorNumber.AGENT_UNRESPONSIVE, Code.UNAVAILABLE],
  [VirErrorNumber.RESOURCE_BUSY, Code.UNAVAILABLE],
  [VirErrorNumber.NO_CONNECT, Code.UNAVAILABLE],
  [VirErrorNumber.RPC, Code.UNAVAILABLE],
  [VirErrorNumber.OPERATION_ABORTED, Code.ABORTED],
  [VirErrorNumber.OPERATION_DENIED, Code.PERMISSION_DENIED],
  [VirErrorNumber.ACCESS_DENIED, Code.PERMISSION_DENIED],
  [VirErrorNumber.AUTH_FAILED, Code.UNAUTHENTICATED],
  [VirErrorNumber.AUTH_CANCELLED, Code.UNAUTHENTICATED],
  [VirErrorNumber.AUTH_UNAVAILABLE, Code.UNAUTHENTICATED],
]);

/** Daemon text can be anything; a message is cut to this many characters. */
const MESSAGE_MAX = 2000;

function bounded(text: string): string {
  return text.length > MESSAGE_MAX
    ? `${text.slice(0, MESSAGE_MAX)}... (${text.length - MESSAGE_MAX} more characters)`
    : text;
}

/** A call libvirt answered with an error. */
export class LibvirtError extends Error {
  override name = "LibvirtError";
  /** virErrorNumber. */
  readonly code: number;
  /** virErrorDomain: which part of libvirt raised it. */
  readonly domain: number;
  readonly status: Code;

  constructor(
    readonly procedure: string,
    error: Pick<RemoteError, "code" | "domain" | "message">,
  ) {
    super(bounded(error.message ?? `libvirt error ${error.code} with no message`));
    this.code = error.code;
    this.domain = error.domain;
    this.status = STATUS_OF.get(error.code) ?? Code.INTERNAL;
  }

  is(code: VirErrorNumber): boolean {
    return this.code === code;
  }
}

/** The connection to libvirt ended (daemon gone, ssh exited, closed by us): every call on it fails with this. */
export class ConnectionClosedError extends Error {
  override name = "ConnectionClosedError";
  readonly status = Code.UNAVAILABLE;
  constructor(message: string, options?: { cause?: unknown }) {
    super(bounded(message), options);
  }
}

/** The gRPC status an error from this module maps to; anything else is INTERNAL. */
export function statusOf(error: unknown): Code {
  if (error instanceof LibvirtError || error instanceof ConnectionClosedError) return error.status;
  return Code.INTERNAL;
}

export function isLibvirtError(error: unknown, code: VirErrorNumber): boolean {
  return error instanceof LibvirtError && error.code === code;
}
