// Domain (and storage pool) names: the machine's name plus a hash of its
// store path, so two stores, or two users of one system daemon, never
// collide on a name, and a name still says which machine it is.
import { createHash } from "node:crypto";

export function domainName(machineName: string, storePath: string): string {
  const hash = createHash("sha256").update(storePath).digest("hex").slice(0, 10);
  return `driverplug-${machineName}-${hash}`;
}
