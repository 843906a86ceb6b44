// What every libvirt VM test does when it ends, passed or failed: the
// domains and storage pools of its machines are destroyed, undefined and
// deleted directly over a libvirt connection (not through the driver under
// test), so a broken driver cannot leave a VM running.
import { join } from "node:path";
import { domainName } from "../../src/drivers/libvirt/domain-name.js";
import { deletePool } from "../../src/drivers/libvirt/machine-storage.js";
import { LibvirtConnection } from "../../src/drivers/libvirt/rpc/connection.js";
import { isLibvirtError, VirErrorNumber } from "../../src/drivers/libvirt/rpc/libvirt-error.js";
import { proc } from "../../src/drivers/libvirt/rpc/procedures.js";

/** Removes machine `name` of the store at `store` from libvirt at `uri`; returns whether it found a domain. */
export async function forgetMachine(
  store: string,
  name: string,
  uri = "qemu:///session",
  knownHosts?: string,
): Promise<boolean> {
  const storePath = join(store, "machines", name);
  const domain = domainName(name, storePath);
  const c = await LibvirtConnection.open(uri, { knownHostsFile: knownHosts ?? join(storePath, "lv", "known_hosts") });
  try {
    let found = false;
    try {
      const { dom } = await c.call(proc.domainLookupByName, { name: domain });
      found = true;
      await c.call(proc.domainDestroyFlags, { dom, flags: 0 }).catch(() => undefined);
      await c.call(proc.domainUndefineFlags, { dom, flags: 0 });
    } catch (err) {
      if (!isLibvirtError(err, VirErrorNumber.NO_DOMAIN)) throw err;
    }
    await deletePool(c, domain);
    return found;
  } finally {
    await c.close();
  }
}
