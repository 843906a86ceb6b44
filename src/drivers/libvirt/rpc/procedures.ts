// The libvirt procedures this driver calls, as one typed table: program,
// procedure number and the XDR shapes of arguments and reply (from
// remote_protocol.x and qemu_protocol.x). `LibvirtConnection.call` takes an
// entry and its typed arguments; nothing else hand-writes a call. `stream`
// marks procedures whose reply opens a data stream on the call's serial.
import {
  domainEventLifecycle,
  domainInterface,
  domainRef,
  networkDhcpLease,
  networkRef,
  nonnullString,
  optString,
  PROGRAM_QEMU,
  PROGRAM_REMOTE,
  storagePoolInfo,
  storagePoolRef,
  storageVolRef,
} from "./remote-types.js";
import { array, type Codec, int, none, optional, struct, uhyper, uint } from "./xdr.js";

export interface Procedure<A, R> {
  readonly name: string;
  readonly program: number;
  readonly number: number;
  readonly args: Codec<A>;
  readonly ret: Codec<R>;
  /** The reply is followed by stream records on the same serial. */
  readonly stream?: "upload" | "download";
}

export type ArgsOf<P> = P extends Procedure<infer A, unknown> ? A : never;
export type RetOf<P> = P extends Procedure<unknown, infer R> ? R : never;

function entry(program: number) {
  return <A, R>(
    name: string,
    number: number,
    args: Codec<A>,
    ret: Codec<R>,
    stream?: "upload" | "download",
  ): Procedure<A, R> => Object.freeze({ name, program, number, args, ret, ...(stream ? { stream } : {}) });
}
const remote = entry(PROGRAM_REMOTE);
const qemu = entry(PROGRAM_QEMU);

const dom = struct({ dom: domainRef });
const domFlags = struct({ dom: domainRef, flags: uint });
const byName = struct({ name: nonnullString });
const xmlFlags = struct({ xml: nonnullString, flags: uint });
const pool = struct({ pool: storagePoolRef });
const poolFlags = struct({ pool: storagePoolRef, flags: uint });
const vol = struct({ vol: storageVolRef });
const volFlags = struct({ vol: storageVolRef, flags: uint });
const xml = struct({ xml: nonnullString });
const retDom = struct({ dom: domainRef });
const retPool = struct({ pool: storagePoolRef });
const retVol = struct({ vol: storageVolRef });
const retNet = struct({ net: networkRef });

/** REMOTE_AUTH_* values AUTH_LIST returns. */
export enum AuthType {
  NONE = 0,
  SASL = 1,
  POLKIT = 2,
}

export const proc = {
  connectOpen: remote("CONNECT_OPEN", 1, struct({ name: optString, flags: uint }), none),
  connectClose: remote("CONNECT_CLOSE", 2, none, none),
  domainGetXmlDesc: remote("DOMAIN_GET_XML_DESC", 14, domFlags, xml),
  domainLookupByName: remote("DOMAIN_LOOKUP_BY_NAME", 23, byName, retDom),
  domainResume: remote("DOMAIN_RESUME", 28, dom, none),
  networkLookupByName: remote("NETWORK_LOOKUP_BY_NAME", 46, byName, retNet),
  connectSupportsFeature: remote("CONNECT_SUPPORTS_FEATURE", 60, struct({ feature: int }), struct({ supported: int })),
  authList: remote("AUTH_LIST", 66, none, struct({ types: array(int, 20) })),
  authPolkit: remote("AUTH_POLKIT", 70, none, struct({ complete: int })),
  storagePoolDefineXml: remote("STORAGE_POOL_DEFINE_XML", 77, xmlFlags, retPool),
  storagePoolCreate: remote("STORAGE_POOL_CREATE", 78, poolFlags, none),
  storagePoolBuild: remote("STORAGE_POOL_BUILD", 79, poolFlags, none),
  storagePoolDestroy: remote("STORAGE_POOL_DESTROY", 80, pool, none),
  storagePoolDelete: remote("STORAGE_POOL_DELETE", 81, poolFlags, none),
  storagePoolUndefine: remote("STORAGE_POOL_UNDEFINE", 82, pool, none),
  storagePoolRefresh: remote("STORAGE_POOL_REFRESH", 83, poolFlags, none),
  storagePoolLookupByName: remote("STORAGE_POOL_LOOKUP_BY_NAME", 84, byName, retPool),
  storagePoolGetInfo: remote("STORAGE_POOL_GET_INFO", 87, pool, storagePoolInfo),
  storageVolCreateXml: remote(
    "STORAGE_VOL_CREATE_XML",
    93,
    struct({ pool: storagePoolRef, xml: nonnullString, flags: uint }),
    retVol,
  ),
  storageVolDelete: remote("STORAGE_VOL_DELETE", 94, volFlags, none),
  storageVolLookupByName: remote(
    "STORAGE_VOL_LOOKUP_BY_NAME",
    95,
    struct({ pool: storagePoolRef, name: nonnullString }),
    retVol,
  ),
  storageVolGetPath: remote("STORAGE_VOL_GET_PATH", 100, vol, struct({ name: nonnullString })),
  storagePoolIsActive: remote("STORAGE_POOL_IS_ACTIVE", 154, pool, struct({ active: int })),
  connectGetLibVersion: remote("CONNECT_GET_LIB_VERSION", 157, none, struct({ libVer: uhyper })),
  domainCreateWithFlags: remote("DOMAIN_CREATE_WITH_FLAGS", 196, domFlags, retDom),
  domainOpenConsole: remote(
    "DOMAIN_OPEN_CONSOLE",
    201,
    struct({ dom: domainRef, devName: optString, flags: uint }),
    none,
    "download",
  ),
  storageVolUpload: remote(
    "STORAGE_VOL_UPLOAD",
    208,
    struct({ vol: storageVolRef, offset: uhyper, length: uhyper, flags: uint }),
    none,
    "upload",
  ),
  domainGetState: remote("DOMAIN_GET_STATE", 212, domFlags, struct({ state: int, reason: int })),
  domainUndefineFlags: remote("DOMAIN_UNDEFINE_FLAGS", 231, domFlags, none),
  domainDestroyFlags: remote("DOMAIN_DESTROY_FLAGS", 234, domFlags, none),
  storageVolResize: remote(
    "STORAGE_VOL_RESIZE",
    260,
    struct({ vol: storageVolRef, capacity: uhyper, flags: uint }),
    none,
  ),
  domainShutdownFlags: remote("DOMAIN_SHUTDOWN_FLAGS", 258, domFlags, none),
  storagePoolListAllVolumes: remote(
    "STORAGE_POOL_LIST_ALL_VOLUMES",
    282,
    struct({ pool: storagePoolRef, needResults: int, flags: uint }),
    struct({ vols: array(storageVolRef, 16384), ret: uint }),
  ),
  domainOpenChannel: remote(
    "DOMAIN_OPEN_CHANNEL",
    296,
    struct({ dom: domainRef, name: optString, flags: uint }),
    none,
    "download",
  ),
  connectDomainEventCallbackRegisterAny: remote(
    "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY",
    316,
    struct({ eventID: int, dom: optional(domainRef) }),
    struct({ callbackID: int }),
  ),
  connectDomainEventCallbackDeregisterAny: remote(
    "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY",
    317,
    struct({ callbackID: int }),
    none,
  ),
  networkGetDhcpLeases: remote(
    "NETWORK_GET_DHCP_LEASES",
    341,
    struct({ net: networkRef, mac: optString, needResults: int, flags: uint }),
    struct({ leases: array(networkDhcpLease, 65536), ret: uint }),
  ),
  domainDefineXmlFlags: remote("DOMAIN_DEFINE_XML_FLAGS", 350, xmlFlags, retDom),
  domainInterfaceAddresses: remote(
    "DOMAIN_INTERFACE_ADDRESSES",
    353,
    struct({ dom: domainRef, source: uint, flags: uint }),
    struct({ ifaces: array(domainInterface, 2048) }),
  ),
  qemuDomainMonitorCommand: qemu(
    "QEMU_DOMAIN_MONITOR_COMMAND",
    1,
    struct({ dom: domainRef, cmd: nonnullString, flags: uint }),
    struct({ result: nonnullString }),
  ),
} as const;

/** Asynchronous messages the daemon sends (type MESSAGE), by the procedure number they carry. */
export const events = {
  domainEventCallbackLifecycle: {
    name: "DOMAIN_EVENT_CALLBACK_LIFECYCLE",
    program: PROGRAM_REMOTE,
    number: 318,
    body: struct({ callbackID: int, msg: domainEventLifecycle }),
  },
} as const;

/** VIR_DOMAIN_EVENT_ID_LIFECYCLE for CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY. */
export const DOMAIN_EVENT_ID_LIFECYCLE = 0;
