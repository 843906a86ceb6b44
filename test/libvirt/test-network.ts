// A libvirt network of the test's own on the privileged daemon: isolated (no
// forwarding, so no NAT rules or ip_forward change on the host), its own
// bridge and a /24 that no route of the host uses yet, with libvirt's dnsmasq
// handing out leases. Defined and started through virsh (the test's tool, not
// the driver's), and destroyed and undefined by dispose(), passed or failed.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestNetwork {
  name: string;
  bridge: string;
  /** The host's address on the bridge, e.g. 192.168.150.1. */
  hostIp: string;
  /** The first three octets, e.g. "192.168.150". */
  prefix: string;
  dispose(): void;
}

/** Where the privileged daemon keeps its networks' run-time state. */
const NETWORK_STATE = "/run/libvirt/network";

const virsh = (args: string[]) =>
  execFileSync("virsh", ["-q", "-c", "qemu:///system", ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });

/** A 192.168.N.0/24 that neither the host's routes nor another libvirt network uses. */
function freePrefix(seed: number): string {
  const routes = execFileSync("ip", ["-4", "route", "show", "table", "all"], { encoding: "utf8" });
  const used = new Set<string>();
  for (const m of routes.matchAll(/\b192\.168\.(\d+)\./g)) used.add(m[1]!);
  for (let i = 0; i < 100; i++) {
    const third = 100 + ((seed + i) % 100);
    if (!used.has(String(third))) return `192.168.${third}`;
  }
  throw new Error("no free 192.168.N.0/24 between N=100 and N=199 for the test network");
}

/** Defines and starts the network; needs root (a bridge, dnsmasq) and the privileged daemon running. */
export function startTestNetwork(): TestNetwork {
  if (process.geteuid?.() !== 0)
    throw new Error("the libvirt network test makes a bridge on qemu:///system: run it as root (CI does)");
  const id = process.pid % 100000;
  const name = `dp-test-net-${id}`;
  const bridge = `dplvbr${id}`;
  const prefix = freePrefix(id);
  const hostIp = `${prefix}.1`;
  // A network left by a crashed earlier run of the same pid is not ours to keep.
  try {
    virsh(["net-destroy", name]);
  } catch {
    // Not running.
  }
  try {
    virsh(["net-undefine", name]);
  } catch {
    // Not defined.
  }
  const dir = mkdtempSync(join(tmpdir(), "dp-net-"));
  try {
    const xml = join(dir, "net.xml");
    writeFileSync(
      xml,
      `<network><name>${name}</name><bridge name='${bridge}' stp='off'/>` +
        `<ip address='${hostIp}' netmask='255.255.255.0'><dhcp><range start='${prefix}.10' end='${prefix}.99'/></dhcp></ip></network>`,
    );
    virsh(["net-define", xml]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const dispose = () => {
    try {
      virsh(["net-destroy", name]);
    } catch {
      // Not running.
    }
    try {
      virsh(["net-undefine", name]);
    } catch {
      // Already gone.
    }
    // libvirt 9.0 leaves the network's dnsmasq pidfile and an empty ports dir behind.
    rmSync(join(NETWORK_STATE, `${name}.pid`), { force: true });
    rmSync(join(NETWORK_STATE, name), { recursive: true, force: true });
  };
  try {
    virsh(["net-start", name]);
  } catch (err) {
    dispose();
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`could not start the test network ${name} (bridge ${bridge}): ${stderr.trim()}`, { cause: err });
  }
  return { name, bridge, hostIp, prefix, dispose };
}

/** The addresses the network's dnsmasq leased, by MAC (`virsh net-dhcp-leases`). */
export function leases(name: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of virsh(["net-dhcp-leases", name]).split("\n")) {
    const m = /\s([0-9a-f:]{17})\s+ipv4\s+([\d.]+)\/\d+/i.exec(line);
    if (m) out.set(m[1]!.toLowerCase(), m[2]!);
  }
  return out;
}
