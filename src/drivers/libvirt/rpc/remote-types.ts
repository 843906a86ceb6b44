// The XDR shapes of libvirt's remote protocol that the procedure table is
// built from: object references (domain, network, storage pool and volume,
// each passed by name and UUID), the error record, and the few structs that
// replies share. Names follow remote_protocol.x without its `remote_` prefix.
import { array, int, opaque, optional, string, struct, uhyper, uint, hyper, type Infer } from "./xdr.js";

export const PROGRAM_REMOTE = 0x20008086;
export const PROGRAM_QEMU = 0x20008087;
/** The keepalive program ("keep"): the daemon's PING, our PONG. */
export const PROGRAM_KEEPALIVE = 0x6b656570;
export const PROGRAM_VERSION = 1;

/** remote_nonnull_string; its max is REMOTE_STRING_MAX. */
export const nonnullString = string();
/** remote_string: a string that may be NULL. */
export const optString = optional(nonnullString);
export const uuid = opaque(16);

export const domainRef = struct({ name: nonnullString, uuid, id: int });
export type DomainRef = Infer<typeof domainRef>;
export const networkRef = struct({ name: nonnullString, uuid });
export type NetworkRef = Infer<typeof networkRef>;
export const storagePoolRef = struct({ name: nonnullString, uuid });
export type StoragePoolRef = Infer<typeof storagePoolRef>;
export const storageVolRef = struct({ pool: nonnullString, name: nonnullString, key: nonnullString });
export type StorageVolRef = Infer<typeof storageVolRef>;

export const remoteError = struct({
  code: int,
  domain: int,
  message: optString,
  level: int,
  dom: optional(domainRef),
  str1: optString,
  str2: optString,
  str3: optString,
  int1: int,
  int2: int,
  net: optional(networkRef),
});
export type RemoteError = Infer<typeof remoteError>;

export const domainIpAddr = struct({ type: int, addr: nonnullString, prefix: uint });
export const domainInterface = struct({
  name: nonnullString,
  hwaddr: optString,
  addrs: array(domainIpAddr, 2048),
});
export type DomainInterface = Infer<typeof domainInterface>;

export const networkDhcpLease = struct({
  iface: nonnullString,
  expirytime: hyper,
  type: int,
  mac: optString,
  iaid: optString,
  ipaddr: nonnullString,
  prefix: uint,
  hostname: optString,
  clientid: optString,
});
export type NetworkDhcpLease = Infer<typeof networkDhcpLease>;

export const domainEventLifecycle = struct({ dom: domainRef, event: int, detail: int });
export type DomainEventLifecycle = Infer<typeof domainEventLifecycle>;

export const storagePoolInfo = struct({ state: uint, capacity: uhyper, allocation: uhyper, available: uhyper });
