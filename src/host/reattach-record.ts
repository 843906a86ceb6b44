// What a host saves to reconnect to a running plugin later (as go-plugin's
// ReattachConfig): plain JSON. Reading one back trusts nothing in it.
import { LaunchError } from "./launch-error.js";

export interface ReattachRecord {
  /** The record format; bumped if its fields change meaning. */
  format: 1;
  /** The driver name, e.g. "fake". */
  driver: string;
  pid: number;
  /** The socket's absolute path. */
  address: string;
  /** The negotiated app protocol version. */
  appVersion: number;
  /** The private directory the launching host made; the socket lives directly inside it. */
  privateDir: string;
  /** In group mode, the gid that may reach the socket. */
  gid?: number;
  /** The plugin serves AutoMTLS; the client key is never saved, so it cannot be reattached. */
  autoMtls?: true;
}

function bad(why: string): LaunchError {
  return new LaunchError(
    "bad-record",
    `invalid reattach record: ${why}; save handle.record as JSON and pass it back unchanged`,
  );
}

/** Checks the shape of a parsed record (JSON.parse output or an object). */
export function parseReattachRecord(value: unknown): ReattachRecord {
  const input = typeof value === "string" ? safeParse(value) : value;
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw bad("it is not an object");
  const r = input as Record<string, unknown>;
  if (r.format !== 1) throw bad(`format is ${JSON.stringify(r.format)}, expected 1`);
  const str = (key: string): string => {
    if (typeof r[key] !== "string" || r[key] === "") throw bad(`${key} is not a non-empty string`);
    return r[key] as string;
  };
  const int = (key: string): number => {
    const v = r[key];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) throw bad(`${key} is not a positive integer`);
    return v;
  };
  const record: ReattachRecord = {
    format: 1,
    driver: str("driver"),
    pid: int("pid"),
    address: str("address"),
    appVersion: int("appVersion"),
    privateDir: str("privateDir"),
  };
  if (r.gid !== undefined) {
    if (typeof r.gid !== "number" || !Number.isSafeInteger(r.gid) || r.gid < 0) throw bad("gid is not a group id");
    record.gid = r.gid;
  }
  if (r.autoMtls !== undefined) {
    if (r.autoMtls !== true) throw bad("autoMtls is not true");
    record.autoMtls = true;
  }
  return record;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw bad(`it is not JSON (${(err as Error).message})`);
  }
}
