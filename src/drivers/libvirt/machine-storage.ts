// A machine's storage: a libvirt directory pool of its own holding its disk,
// cloud-init seed, kernel and initrd as volumes, created and filled over the
// connection (uploads), so nothing assumes the host and the hypervisor share
// a file system. Where the pool's directory is depends on who runs QEMU: the
// user's own session daemon, in the machine's dir; a privileged daemon
// (qemu:///system, and qemu:///session of root), under libvirt's images
// directory, which its QEMU user can reach; a remote user's session daemon,
// under that user's libvirt images directory.
import { createReadStream, promises as fs } from "node:fs";
import { join } from "node:path";
import { poolXml, volumeXml } from "./domain-xml.js";
import type { LibvirtConnection } from "./rpc/connection.js";
import type { LibvirtUri } from "./rpc/connection-uri.js";
import { isLibvirtError, VirErrorNumber } from "./rpc/libvirt-error.js";
import { proc } from "./rpc/procedures.js";
import type { StoragePoolRef, StorageVolRef } from "./rpc/remote-types.js";

export const PRIVILEGED_POOL_ROOT = "/var/lib/libvirt/images/driverplug";

/** Does a privileged daemon run this URI's domains (QEMU as its own user, e.g. libvirt-qemu)? */
export function privilegedDaemon(uri: LibvirtUri): boolean {
  if (uri.mode === "system") return true;
  if (uri.kind === "local") return process.geteuid?.() === 0;
  return uri.user === "root";
}

export async function ensurePool(
  c: LibvirtConnection,
  name: string,
  path: string,
  traversable: boolean,
): Promise<StoragePoolRef> {
  let pool: StoragePoolRef;
  try {
    pool = (await c.call(proc.storagePoolLookupByName, { name })).pool;
  } catch (err) {
    if (!isLibvirtError(err, VirErrorNumber.NO_STORAGE_POOL)) throw err;
    pool = (await c.call(proc.storagePoolDefineXml, { xml: poolXml(name, path, traversable), flags: 0 })).pool;
  }
  if (!(await c.call(proc.storagePoolIsActive, { pool })).active) {
    await c.call(proc.storagePoolBuild, { pool, flags: 0 });
    await c.call(proc.storagePoolCreate, { pool, flags: 0 });
  }
  return pool;
}

async function* fileChunks(path: string, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20, ...(signal ? { signal } : {}) });
  for await (const chunk of stream) yield chunk as Buffer;
}

/** A volume holding a copy of a local file, uploaded over the connection. */
export async function uploadVolume(
  c: LibvirtConnection,
  pool: StoragePoolRef,
  name: string,
  file: string,
  signal?: AbortSignal,
): Promise<StorageVolRef> {
  const { size } = await fs.stat(file);
  const { vol } = await c.call(proc.storageVolCreateXml, { pool, xml: volumeXml(name, "raw", size), flags: 0 });
  await c.upload(
    proc.storageVolUpload,
    { vol, offset: 0n, length: BigInt(size), flags: 0 },
    fileChunks(file, signal),
    signal ? { signal } : {},
  );
  return vol;
}

export async function emptyVolume(
  c: LibvirtConnection,
  pool: StoragePoolRef,
  name: string,
  format: "qcow2" | "raw",
  bytes: number,
): Promise<StorageVolRef> {
  return (await c.call(proc.storageVolCreateXml, { pool, xml: volumeXml(name, format, bytes), flags: 0 })).vol;
}

export async function volumePath(c: LibvirtConnection, vol: StorageVolRef): Promise<string> {
  return (await c.call(proc.storageVolGetPath, { vol })).name;
}

export async function lookupVolume(c: LibvirtConnection, poolName: string, name: string): Promise<StorageVolRef> {
  const { pool } = await c.call(proc.storagePoolLookupByName, { name: poolName });
  return (await c.call(proc.storageVolLookupByName, { pool, name })).vol;
}

/** Deletes the pool, its volumes and its directory; a pool that is not there is fine. */
export async function deletePool(c: LibvirtConnection, name: string): Promise<void> {
  let pool: StoragePoolRef;
  try {
    pool = (await c.call(proc.storagePoolLookupByName, { name })).pool;
  } catch (err) {
    if (isLibvirtError(err, VirErrorNumber.NO_STORAGE_POOL)) return;
    throw err;
  }
  if ((await c.call(proc.storagePoolIsActive, { pool })).active) {
    await c.call(proc.storagePoolRefresh, { pool, flags: 0 }).catch(() => undefined);
    const { vols } = await c.call(proc.storagePoolListAllVolumes, { pool, needResults: 1, flags: 0 });
    for (const vol of vols) await c.call(proc.storageVolDelete, { vol, flags: 0 });
    await c.call(proc.storagePoolDestroy, { pool });
  }
  await c.call(proc.storagePoolDelete, { pool, flags: 0 }).catch((err: unknown) => {
    // A directory that is already gone is what we wanted.
    if (!isLibvirtError(err, VirErrorNumber.SYSTEM_ERROR)) throw err;
  });
  await c.call(proc.storagePoolUndefine, { pool });
}

export function privilegedPoolPath(domain: string): string {
  return join(PRIVILEGED_POOL_ROOT, domain);
}
