// The libvirt driver's config, flags and XML on their own: defaults, refusals
// that name the field (and the URI's part), flags typed with their env vars,
// domain names that keep two stores apart, and XML that escapes what it is given.
import { describe, expect, it } from "vitest";
import { FlagType } from "../../generated/driverplug/driver/v1/driver.js";
import { DriverError } from "../../src/plugin/index.js";
import { Code } from "../../src/protocol/status.js";
import { configCodec, validateConfig } from "../../src/drivers/libvirt/config.js";
import { domainName } from "../../src/drivers/libvirt/domain-name.js";
import { domainXml, macOf, poolXml, uuidOf, xmlEscape } from "../../src/drivers/libvirt/domain-xml.js";
import { applyFlags, createFlags } from "../../src/drivers/libvirt/flags.js";

const base = { machineName: "m1", storePath: "/tmp/store/machines/m1" };

function failure(fn: () => unknown): DriverError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DriverError);
    return err as DriverError;
  }
  throw new Error("expected a refusal");
}

describe("libvirt config and flags", () => {
  it("fills the defaults: qemu:///session, user networking, 2 CPUs, 1 GiB", () => {
    expect(validateConfig(base)).toMatchObject({
      uri: "qemu:///session",
      network: "user",
      cpus: 2,
      memoryMiB: 1024,
      accelerator: "auto",
    });
  });

  it("refuses a bad URI with INVALID_ARGUMENT naming the field and the part", () => {
    const err = failure(() => validateConfig({ ...base, uri: "qemu+ssh://-oProxyCommand=x/session" }));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toMatch(/config field "uri" \(host\)/);
    expect(failure(() => configCodec.decode(Buffer.from("{"))).code).toBe(Code.INVALID_ARGUMENT);
    expect(failure(() => validateConfig({ ...base, network: "-x" })).message).toMatch(/"network"/);
    expect(failure(() => validateConfig({ ...base, shares: [] })).message).toMatch(/"shares" is unknown/);
  });

  it("has typed flags with DRIVERPLUG_LIBVIRT_* env vars, and names the flag of a bad value", () => {
    const flags = createFlags();
    expect(flags.map((f) => f.name)).toEqual([
      "bundle",
      "uri",
      "cpus",
      "memory",
      "disk-size",
      "network",
      "accel",
      "stop-timeout",
    ]);
    expect(flags.find((f) => f.name === "uri")).toMatchObject({
      type: FlagType.FLAG_TYPE_STRING,
      envVar: "DRIVERPLUG_LIBVIRT_URI",
    });
    const config = validateConfig(base);
    const next = applyFlags(config, {
      uri: { kind: { $case: "stringValue", value: "qemu+ssh://u@h:2222/session?keyfile=/k" } },
      cpus: { kind: { $case: "intValue", value: 4n } },
      "stop-timeout": { kind: { $case: "intValue", value: 5n } },
    });
    expect(next).toMatchObject({ uri: "qemu+ssh://u@h:2222/session?keyfile=/k", cpus: 4, stopTimeoutMs: 5000 });
    expect(
      failure(() => applyFlags(config, { uri: { kind: { $case: "stringValue", value: "xen:///" } } })).message,
    ).toMatch(/^flag "uri"/);
    expect(failure(() => applyFlags(config, { cpus: { kind: { $case: "stringValue", value: "4" } } })).message).toMatch(
      /takes an int/,
    );
    expect(failure(() => applyFlags(config, { nope: { kind: { $case: "boolValue", value: true } } })).message).toMatch(
      /unknown flag "nope"/,
    );
  });
});

describe("libvirt names and XML", () => {
  it("names domains after the machine and a hash of its store path", () => {
    expect(domainName("m1", "/a/machines/m1")).toMatch(/^driverplug-m1-[0-9a-f]{10}$/);
    expect(domainName("m1", "/a/machines/m1")).not.toBe(domainName("m1", "/b/machines/m1"));
  });

  it("escapes every value and boots TCG with destroy on reboot and crash", () => {
    expect(xmlEscape(`a<b>&'"`)).toBe("a&lt;b&gt;&amp;&apos;&quot;");
    const xml = domainXml({
      name: "d",
      uuid: "0b6c1d40-5d7b-4f40-9d55-7a3c2b1e0f01",
      machineName: "m1",
      storePath: "/s/<x>",
      kvm: false,
      cpus: 2,
      memoryMiB: 512,
      kernel: { kernelPath: "/p/vmlinuz", initrdPath: "/p/initrd.img", cmdline: "console=ttyS0 a='b'" },
      pool: "d",
      diskVolume: "disk.qcow2",
      network: "user",
    });
    expect(xml).toContain("<domain type='qemu'>");
    expect(xml).toContain("store='/s/&lt;x&gt;'");
    expect(xml).toContain("<cmdline>console=ttyS0 a=&apos;b&apos;</cmdline>");
    expect(xml).toContain("<on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>");
    expect(xml).toContain("<target type='virtio' name='dp.ready'/>");
    expect(uuidOf(xml)).toBe("0b6c1d40-5d7b-4f40-9d55-7a3c2b1e0f01");
    expect(macOf("<mac address='52:54:00:aa:bb:cc'/>")).toBe("52:54:00:aa:bb:cc");
    expect(poolXml("p", "/x", true)).toContain("<mode>0711</mode>");
  });
});
