// Reads PLUGIN_UNIX_SOCKET_GROUP, which go-plugin hosts set to a group name
// or a numeric gid, as a gid. Node has no getgrnam, so names are looked up in
// /etc/group (the only source on the systems driverplug targets without NSS).
import { readFileSync } from "node:fs";

export function resolveSocketGroup(value: string, groupFile = "/etc/group"): number {
  if (/^[0-9]{1,10}$/.test(value)) return Number(value);
  let text: string;
  try {
    text = readFileSync(groupFile, "utf8");
  } catch (err) {
    throw new Error(
      `cannot look up socket group ${JSON.stringify(value)}: ${(err as Error).message}; give a numeric gid in PLUGIN_UNIX_SOCKET_GROUP instead`,
      { cause: err },
    );
  }
  for (const line of text.split("\n")) {
    const [name, , gid] = line.split(":");
    if (name === value && gid !== undefined && /^[0-9]+$/.test(gid)) return Number(gid);
  }
  throw new Error(
    `socket group ${JSON.stringify(value)} (PLUGIN_UNIX_SOCKET_GROUP) is not in ${groupFile}; give an existing group name or a numeric gid`,
  );
}
