// The libvirt XML this driver defines: a machine's domain, its storage pool
// and its volumes. Every value is XML-escaped; names come from checked
// config. The domain boots the bundle under TCG (type 'qemu') unless KVM was
// chosen, powers off on reboot and crash (on_reboot/on_crash destroy: a
// guest never restarts itself behind the driver's back), has a pty serial
// console and the dp.ready virtio channel that the driver reads over its
// connection, and no memory balloon.
const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&apos;", '"': "&quot;" };

export function xmlEscape(text: string): string {
  return text.replace(/[&<>'"]/g, (c) => ESCAPES[c]!);
}

/** The namespace of the metadata element that marks domains as driverplug's. */
export const METADATA_NS = "https://driverplug.dev/xmlns/libvirt/1";

export interface DomainSpec {
  name: string;
  uuid?: string;
  machineName: string;
  storePath: string;
  kvm: boolean;
  cpus: number;
  memoryMiB: number;
  /** Direct kernel boot: paths on the hypervisor host. */
  kernel?: { kernelPath: string; initrdPath?: string; cmdline: string };
  pool: string;
  diskVolume: string;
  seedVolume?: string;
  /** "user", or a libvirt network's name. */
  network: string;
}

export function domainXml(spec: DomainSpec): string {
  const e = xmlEscape;
  const os = [`<type arch='x86_64' machine='q35'>hvm</type>`];
  if (spec.kernel) {
    os.push(`<kernel>${e(spec.kernel.kernelPath)}</kernel>`);
    if (spec.kernel.initrdPath) os.push(`<initrd>${e(spec.kernel.initrdPath)}</initrd>`);
    os.push(`<cmdline>${e(spec.kernel.cmdline)}</cmdline>`);
  } else os.push(`<boot dev='hd'/>`);
  const disks = [
    `<disk type='volume' device='disk'><driver name='qemu' type='qcow2'/><source pool='${e(spec.pool)}' volume='${e(spec.diskVolume)}'/><target dev='vda' bus='virtio'/></disk>`,
  ];
  if (spec.seedVolume)
    disks.push(
      `<disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='${e(spec.pool)}' volume='${e(spec.seedVolume)}'/><target dev='vdb' bus='virtio'/><readonly/></disk>`,
    );
  const nic =
    spec.network === "user"
      ? `<interface type='user'><model type='virtio'/></interface>`
      : `<interface type='network'><source network='${e(spec.network)}'/><model type='virtio'/></interface>`;
  return [
    `<domain type='${spec.kvm ? "kvm" : "qemu"}'>`,
    `<name>${e(spec.name)}</name>`,
    spec.uuid ? `<uuid>${e(spec.uuid)}</uuid>` : "",
    `<metadata><dp:machine xmlns:dp='${METADATA_NS}' name='${e(spec.machineName)}' store='${e(spec.storePath)}'/></metadata>`,
    `<memory unit='MiB'>${spec.memoryMiB}</memory>`,
    `<vcpu>${spec.cpus}</vcpu>`,
    `<os>${os.join("")}</os>`,
    // TCG: a 512 MiB translation cache, as the qemu driver gives it.
    `<features><acpi/>${spec.kvm ? "" : "<tcg><tb-cache unit='MiB'>512</tb-cache></tcg>"}</features>`,
    spec.kvm ? `<cpu mode='host-passthrough'/>` : `<cpu mode='maximum'/>`,
    `<on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>`,
    `<devices>`,
    ...disks,
    nic,
    `<serial type='pty'><target port='0'/></serial>`,
    `<console type='pty'><target type='serial' port='0'/></console>`,
    `<channel type='unix'><source mode='bind'/><target type='virtio' name='dp.ready'/></channel>`,
    `<memballoon model='none'/>`,
    `</devices>`,
    `</domain>`,
  ].join("");
}

/** A directory pool; `traversable` (0711) when QEMU runs as another user than the daemon (privileged daemons). */
export function poolXml(name: string, path: string, traversable: boolean): string {
  const mode = traversable ? "0711" : "0700";
  return `<pool type='dir'><name>${xmlEscape(name)}</name><target><path>${xmlEscape(path)}</path><permissions><mode>${mode}</mode></permissions></target></pool>`;
}

export function volumeXml(name: string, format: "raw" | "qcow2", capacityBytes: number): string {
  return `<volume><name>${xmlEscape(name)}</name><capacity unit='bytes'>${capacityBytes}</capacity><target><format type='${format}'/><permissions><mode>0600</mode></permissions></target></volume>`;
}

/** The domain's UUID from its XML. */
export function uuidOf(xml: string): string | undefined {
  return /<uuid>([0-9a-f-]{36})<\/uuid>/i.exec(xml)?.[1];
}

/** The MAC address of the domain's (first) interface, from its XML. */
export function macOf(xml: string): string | undefined {
  return /<mac address=['"]([0-9a-f:]{17})['"]/i.exec(xml)?.[1];
}
