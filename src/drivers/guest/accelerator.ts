// Which accelerator a machine runs with. KVM is used only when it can work:
// /dev/kvm must be usable AND the CPU must have hardware virtualization
// (vmx/svm in /proc/cpuinfo) AND /dev/kvm must come from kvm_intel/kvm_amd.
// "/dev/kvm exists" is not enough: a kvm_pvm host (nested_pvm, no vmx/svm)
// offers a /dev/kvm that initialises, and then a stock guest kernel hangs
// forever. On such hosts `auto` picks TCG, software emulation.
import { constants, promises as fs } from "node:fs";

export type AcceleratorChoice = "auto" | "kvm" | "tcg";
export type Accelerator = "kvm" | "tcg";

export interface KvmProbe {
  usable: boolean;
  /** Why not, for humans (empty when usable). */
  reason: string;
}

export interface HostFacts {
  /** /dev/kvm opens read-write. */
  devKvm: boolean;
  cpuFlags: ReadonlySet<string>;
  /** Loaded kernel modules among kvm_intel, kvm_amd, kvm_pvm. */
  modules: ReadonlySet<string>;
}

export function judgeKvm(facts: HostFacts): KvmProbe {
  if (!facts.devKvm)
    return {
      usable: false,
      reason: "/dev/kvm is missing or not readable and writable by this user (add the user to group kvm)",
    };
  if (facts.modules.has("kvm_pvm") && !facts.modules.has("kvm_intel") && !facts.modules.has("kvm_amd"))
    return {
      usable: false,
      reason:
        "/dev/kvm is provided by kvm_pvm (a nested PVM host), under which guest kernels hang at boot; use --accel tcg (or auto)",
    };
  if (!facts.cpuFlags.has("vmx") && !facts.cpuFlags.has("svm"))
    return {
      usable: false,
      reason: "the CPU has no hardware virtualization (no vmx or svm flag in /proc/cpuinfo); use --accel tcg (or auto)",
    };
  return { usable: true, reason: "" };
}

export async function readHostFacts(): Promise<HostFacts> {
  const devKvm = await fs
    .access("/dev/kvm", constants.R_OK | constants.W_OK)
    .then(() => true)
    .catch(() => false);
  const cpuinfo = await fs.readFile("/proc/cpuinfo", "utf8").catch(() => "");
  const flags = new Set<string>();
  for (const line of cpuinfo.split("\n")) {
    const m = /^flags\s*:\s*(.*)$/.exec(line);
    if (m) for (const f of m[1]!.split(/\s+/)) if (f) flags.add(f);
  }
  const modules = new Set<string>();
  for (const name of ["kvm_intel", "kvm_amd", "kvm_pvm"]) {
    if (
      await fs.stat(`/sys/module/${name}`).then(
        () => true,
        () => false,
      )
    )
      modules.add(name);
  }
  return { devKvm, cpuFlags: flags, modules };
}

let cached: Promise<KvmProbe> | undefined;

/** The host's KVM verdict, probed once per process. */
export function probeKvm(): Promise<KvmProbe> {
  cached ??= readHostFacts().then(judgeKvm);
  return cached;
}

/** The accelerator to run with; throws (with the reason) when kvm is asked for and cannot work. */
export async function chooseAccelerator(choice: AcceleratorChoice): Promise<{ accel: Accelerator; note: string }> {
  if (choice === "tcg") return { accel: "tcg", note: "TCG (software emulation), as configured" };
  const kvm = await probeKvm();
  if (kvm.usable) return { accel: "kvm", note: "KVM" };
  if (choice === "kvm") throw new AcceleratorError(`accelerator kvm was asked for but cannot work here: ${kvm.reason}`);
  return { accel: "tcg", note: `TCG (software emulation): KVM is not usable: ${kvm.reason}` };
}

export class AcceleratorError extends Error {
  override name = "AcceleratorError";
}

/**
 * The TCG translation cache for a guest of `memoryMiB`: a quarter of its
 * memory, between 64 and 512 MiB. QEMU's own default (1 GiB on 64-bit hosts)
 * and lima's 512 MiB are filled by a real distribution's boot: with 512 MiB a
 * 512 MiB guest cost about 900 MB on the host.
 */
export function tcgCacheMiB(memoryMiB: number): number {
  return Math.min(512, Math.max(64, Math.floor(memoryMiB / 4)));
}
