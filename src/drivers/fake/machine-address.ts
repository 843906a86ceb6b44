// The fake machine's network identity: an IP derived from its name, so the
// same machine always gets the same address, in TEST-NET-1 (192.0.2.0/24,
// RFC 5737), which is never routed.

export function machineIp(name: string): string {
  // FNV-1a: a stable, well spread hash of the name.
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(name, "utf8")) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `192.0.2.${1 + (hash % 254)}`;
}

export const DOCKER_PORT = 2376;
export const SSH_PORT = 22;
export const SSH_USER = "docker";
