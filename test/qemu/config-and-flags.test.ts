// The qemu driver's config and flags: defaults, refusals that name the field
// or flag, a store path too long for the machine's sockets refused up front,
// shared-directory specs, bundle manifests, and the KVM verdict on a host
// like this one (kvm_pvm, no vmx/svm).
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { status } from "@grpc/grpc-js";
import { judgeKvm } from "../../src/drivers/guest/accelerator.js";
import { BundleError, loadBundle, parseManifest } from "../../src/drivers/guest/bundle.js";
import { CONFIG_DEFAULTS, validateConfig } from "../../src/drivers/qemu/config.js";
import { applyFlags, createFlags, parseShares } from "../../src/drivers/qemu/flags.js";
import { QEMU_SOCKET_PATH_MAX_BYTES } from "../../src/drivers/qemu/machine-files.js";
import { DriverError } from "../../src/plugin/driver-error.js";

const base = { machineName: "vm1", storePath: "/tmp/s/machines/vm1" };

function refusal(fn: () => unknown): DriverError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DriverError);
    return err as DriverError;
  }
  throw new Error("expected a refusal");
}

describe("the config", () => {
  it("fills defaults and refuses unknown or wrong fields by name", () => {
    expect(validateConfig(base)).toEqual({ ...CONFIG_DEFAULTS, ...base });
    expect(refusal(() => validateConfig({ ...base, cpus: 0 })).message).toMatch(/"cpus" must be between 1 and 64/);
    expect(refusal(() => validateConfig({ ...base, accelerator: "hvf" })).message).toMatch(
      /"accelerator" must be one of auto, kvm, tcg/,
    );
    expect(refusal(() => validateConfig({ ...base, color: "red" })).message).toMatch(/"color" is unknown/);
    expect(refusal(() => validateConfig({ ...base, storePath: "rel/path" })).message).toMatch(/absolute path/);
    expect(refusal(() => validateConfig({ machineName: "vm1" })).code).toBe(status.INVALID_ARGUMENT);
  });

  it("refuses a store path whose socket paths would not fit, saying how long it may be", () => {
    const longest = "/qmp-watch.sock".length + "/vm".length;
    const fits = `/${"a".repeat(QEMU_SOCKET_PATH_MAX_BYTES - longest - 1)}`;
    expect(validateConfig({ ...base, storePath: fits }).storePath).toBe(fits);
    const err = refusal(() => validateConfig({ ...base, storePath: `${fits}b` }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.message).toMatch(/"storePath".*108|107-byte limit/);
    expect(err.message).toContain(`at most ${fits.length} bytes`);
  });

  it("refuses shared directories QEMU could misread", () => {
    const dir = (over: object) => ({ ...base, sharedDirs: [{ source: "/src", target: "/src", ...over }] });
    expect(validateConfig(dir({})).sharedDirs[0]).toMatchObject({ tag: "dp0", type: "9p", readOnly: false });
    expect(refusal(() => validateConfig(dir({ source: "/a,b" }))).message).toMatch(/comma/);
    expect(refusal(() => validateConfig(dir({ type: "virtiofs" }))).message).toMatch(/9p only/);
    expect(refusal(() => validateConfig(dir({ tag: "bad tag" }))).message).toMatch(/tag/);
  });
});

describe("the create flags", () => {
  it("are typed, with defaults and DRIVERPLUG_QEMU_* env vars", () => {
    const flags = Object.fromEntries(createFlags().map((f) => [f.name, f]));
    expect(Object.keys(flags)).toEqual([
      "bundle",
      "image",
      "firmware",
      "ssh-user",
      "cpus",
      "memory",
      "disk-size",
      "accel",
      "ssh-port",
      "shared-dir",
      "network",
      "boot-timeout",
      "stop-timeout",
    ]);
    expect(flags.network!.defaultValue?.kind).toEqual({ $case: "stringValue", value: "isolated" });
    expect(flags["boot-timeout"]!.defaultValue?.kind).toEqual({ $case: "intValue", value: 540n });
    expect(flags.cpus!.envVar).toBe("DRIVERPLUG_QEMU_CPUS");
    expect(flags.accel!.defaultValue?.kind).toEqual({ $case: "stringValue", value: "auto" });
  });

  it("land in the config, and a bad value names its flag", () => {
    const config = validateConfig(base);
    const next = applyFlags(config, {
      cpus: { kind: { $case: "intValue", value: 4n } },
      memory: { kind: { $case: "intValue", value: 768n } },
      "stop-timeout": { kind: { $case: "intValue", value: 5n } },
      "shared-dir": { kind: { $case: "stringListValue", value: { values: ["/srv/data:/data:ro"] } } },
    });
    expect(next).toMatchObject({ cpus: 4, memoryMiB: 768, stopTimeoutMs: 5000 });
    expect(next.sharedDirs).toEqual([
      { source: "/srv/data", target: "/data", tag: "dp0", type: "9p", readOnly: true, username: "", password: "" },
    ]);
    expect(refusal(() => applyFlags(config, { cpus: { kind: { $case: "stringValue", value: "4" } } })).message).toMatch(
      /flag "cpus" takes an int/,
    );
    expect(refusal(() => applyFlags(config, { cpus: { kind: { $case: "intValue", value: 999n } } })).message).toMatch(
      /^flag "cpus": /,
    );
    expect(refusal(() => applyFlags(config, { gpus: { kind: { $case: "intValue", value: 1n } } })).message).toMatch(
      /unknown flag "gpus"/,
    );
  });

  it("read shared directories as SOURCE[:TARGET][:ro]", () => {
    expect(parseShares(["/a", "/b:/mnt/b", "/c:rw"]).map((d) => [d.source, d.target, d.readOnly, d.tag])).toEqual([
      ["/a", "/a", false, "dp0"],
      ["/b", "/mnt/b", false, "dp1"],
      ["/c", "/c", false, "dp2"],
    ]);
    expect(() => parseShares(["/a:/b:/c"])).toThrow(/SOURCE\[:TARGET\]\[:ro\]/);
  });
});

describe("bundles", () => {
  it("read the agreed bundle.json and refuse what is wrong with it", () => {
    const m = parseManifest(
      JSON.stringify({
        name: "g",
        version: "1",
        kernel: "vmlinuz",
        initrd: "initrd.img",
        cmdline: "console=ttyS0 quiet panic=-1",
        sshUser: "root",
        readiness: "virtio-serial",
      }),
      "bundle.json",
    );
    expect(m).toMatchObject({ name: "g", version: "1", sshUser: "root", readiness: "virtio-serial" });
    expect(() => parseManifest("{", "b.json")).toThrow(/b\.json is not valid JSON/);
    expect(() => parseManifest(JSON.stringify({ name: "g", version: "1" }), "b.json")).toThrow(/give "kernel"/);
    expect(() =>
      parseManifest(JSON.stringify({ name: "g", version: "1", disk: "d", readiness: "ping" }), "b.json"),
    ).toThrow(/readiness/);
    expect(() => parseManifest(JSON.stringify({ name: "g", version: "1", disk: "d", extra: 1 }), "b.json")).toThrow(
      /unknown field "extra"/,
    );
  });

  it("must keep their files inside the bundle directory", async () => {
    const dir = await fs.mkdtemp(join(tmpdir(), "dp-bundle-"));
    try {
      await fs.writeFile(
        join(dir, "bundle.json"),
        JSON.stringify({ name: "g", version: "1", kernel: "../../etc/passwd" }),
      );
      await expect(loadBundle(dir)).rejects.toThrow(/inside the bundle/);
      await fs.writeFile(join(dir, "bundle.json"), JSON.stringify({ name: "g", version: "1", kernel: "vmlinuz" }));
      await expect(loadBundle(dir)).rejects.toThrow(/vmlinuz does not exist; is the bundle complete\?/);
      await fs.writeFile(join(dir, "vmlinuz"), "k");
      expect((await loadBundle(dir)).kernelPath).toBe(join(dir, "vmlinuz"));
      await expect(loadBundle(join(dir, "nope"))).rejects.toBeInstanceOf(BundleError);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe("the KVM verdict", () => {
  const facts = (over: Partial<Parameters<typeof judgeKvm>[0]> = {}) =>
    judgeKvm({ devKvm: true, cpuFlags: new Set(["vmx"]), modules: new Set(["kvm_intel"]), ...over });

  it("says KVM works only with /dev/kvm, vmx/svm and a hardware KVM module", () => {
    expect(facts().usable).toBe(true);
    expect(facts({ cpuFlags: new Set(["svm"]), modules: new Set(["kvm_amd"]) }).usable).toBe(true);
    expect(facts({ devKvm: false }).reason).toMatch(/\/dev\/kvm/);
    expect(facts({ cpuFlags: new Set() }).reason).toMatch(/no vmx or svm/);
  });

  it("refuses a kvm_pvm /dev/kvm, as on this host, where guest kernels hang", () => {
    const verdict = facts({ cpuFlags: new Set(["sse2"]), modules: new Set(["kvm_pvm"]) });
    expect(verdict.usable).toBe(false);
    expect(verdict.reason).toMatch(/kvm_pvm/);
  });
});
