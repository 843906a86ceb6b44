// The QEMU command line a machine gets: every socket and file in the
// machine's directory, the accelerator's own flags (a translation cache sized
// to the guest), the console in a fixed-size ring buffer, the SSH forward on
// 127.0.0.1 only and the guest isolated unless asked, firmware (SeaBIOS or
// OVMF with the machine's own variable store), commas in paths escaped so no
// option can be injected, and the kernel command line carrying the key and
// host name.
import { describe, expect, it } from "vitest";
import { kernelCmdline } from "../../src/drivers/guest/kernel-cmdline.js";
import { tcgCacheMiB } from "../../src/drivers/guest/accelerator.js";
import { buildQemuArgv, optValue, type ArgvInput } from "../../src/drivers/qemu/qemu-argv.js";
import { MachineFiles } from "../../src/drivers/qemu/machine-files.js";

const files = new MachineFiles("/store/machines/vm1");

function input(over: Partial<ArgvInput> = {}): ArgvInput {
  return {
    machineName: "vm1",
    files,
    accel: "tcg",
    cpus: 2,
    memoryMiB: 512,
    sshPort: 40022,
    network: "isolated",
    kernel: {
      kernelPath: files.path("kernel"),
      initrdPath: files.path("initrd"),
      cmdline: "console=ttyS0 dp.hostname=vm1",
    },
    sharedDirs: [],
    ...over,
  };
}

/** The value after each occurrence of a flag. */
function values(argv: string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1]!] : []));
}

describe("the QEMU command line", () => {
  it("uses TCG with a translation cache sized to the guest and -cpu max, or KVM with -cpu host", () => {
    const tcg = buildQemuArgv(input());
    expect(values(tcg, "-accel")).toEqual(["tcg,thread=multi,tb-size=128"]);
    expect([tcgCacheMiB(128), tcgCacheMiB(512), tcgCacheMiB(1024), tcgCacheMiB(4096), tcgCacheMiB(65536)]).toEqual([
      64, 128, 256, 512, 512,
    ]);
    expect(values(tcg, "-cpu")).toEqual(["max"]);
    const kvm = buildQemuArgv(input({ accel: "kvm" }));
    expect(values(kvm, "-accel")).toEqual(["kvm"]);
    expect(values(kvm, "-cpu")).toEqual(["host"]);
    expect(values(tcg, "-smp")).toEqual(["2"]);
    expect(values(tcg, "-m")).toEqual(["512"]);
  });

  it("puts every socket, the pidfile, the disk and the logs in the machine's directory", () => {
    const argv = buildQemuArgv(input());
    const chardevs = values(argv, "-chardev");
    expect(chardevs).toEqual([
      "ringbuf,id=ser0,size=1048576",
      "socket,id=qmp0,path=/store/machines/vm1/vm/qmp.sock,server=on,wait=off",
      "socket,id=qmp1,path=/store/machines/vm1/vm/qmp-watch.sock,server=on,wait=off",
      "socket,id=qmp2,path=/store/machines/vm1/vm/qmp-con.sock,server=on,wait=off",
      "socket,id=rdy,path=/store/machines/vm1/vm/ready.sock,server=on,wait=off",
      "socket,id=sshc,path=/store/machines/vm1/vm/ssh.sock,server=on,wait=off",
    ]);
    expect(values(argv, "-serial")).toEqual(["chardev:ser0"]);
    expect(values(argv, "-mon")).toEqual([
      "chardev=qmp0,mode=control",
      "chardev=qmp1,mode=control",
      "chardev=qmp2,mode=control",
    ]);
    expect(values(argv, "-pidfile")).toEqual(["/store/machines/vm1/vm/qemu.pid"]);
    expect(values(argv, "-drive")).toEqual([
      "file=/store/machines/vm1/vm/disk.qcow2,if=none,id=d0,format=qcow2,discard=unmap",
    ]);
    expect(values(argv, "-device")).toContain("virtserialport,chardev=rdy,name=dp.ready");
    expect(values(argv, "-device")).toContain("virtserialport,chardev=sshc,name=dp.ssh");
    // Never daemonized by QEMU itself (its daemon forces umask 027), never a second display or default devices.
    expect(argv).not.toContain("-daemonize");
    expect(argv).toEqual(expect.arrayContaining(["-nodefaults", "-no-user-config", "-no-reboot"]));
    expect(values(argv, "-display")).toEqual(["none"]);
  });

  it("forwards only SSH, and only on 127.0.0.1; the guest reaches nothing outside unless nat is asked for", () => {
    expect(values(buildQemuArgv(input()), "-netdev")).toEqual([
      "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22",
    ]);
    expect(values(buildQemuArgv(input({ network: "nat" })), "-netdev")).toEqual([
      "user,id=n0,hostfwd=tcp:127.0.0.1:40022-:22",
    ]);
  });

  it("boots by SeaBIOS from the disk, or by OVMF with the machine's own variable store", () => {
    const bios = buildQemuArgv(input({ kernel: undefined }));
    expect(values(bios, "-drive").some((d) => d.includes("pflash"))).toBe(false);
    expect(values(bios, "-device")).toContain("virtio-blk-pci,drive=d0,bootindex=0");
    const uefi = buildQemuArgv(
      input({ kernel: undefined, uefi: { code: "/usr/share/OVMF/OVMF_CODE_4M.fd", vars: "/unused" } }),
    );
    expect(values(uefi, "-drive").slice(0, 2)).toEqual([
      "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
      "if=pflash,format=raw,unit=1,file=/store/machines/vm1/vm/efivars.fd",
    ]);
  });

  it("boots the kernel directly, or from the disk with the seed attached read-only", () => {
    const direct = buildQemuArgv(input());
    expect(values(direct, "-kernel")).toEqual(["/store/machines/vm1/vm/vmlinuz"]);
    expect(values(direct, "-initrd")).toEqual(["/store/machines/vm1/vm/initrd.img"]);
    expect(values(direct, "-append")).toEqual(["console=ttyS0 dp.hostname=vm1"]);
    const disk = buildQemuArgv(input({ kernel: undefined, seedPath: files.path("seed") }));
    expect(disk).not.toContain("-kernel");
    expect(disk).not.toContain("-append");
    expect(values(disk, "-drive")).toContain(
      "file=/store/machines/vm1/vm/seed.iso,if=none,id=seed,format=raw,readonly=on",
    );
  });

  it("shares directories over 9p with their tags, read-only when asked", () => {
    const argv = buildQemuArgv(
      input({
        sharedDirs: [
          {
            source: "/home/me/src",
            target: "/src",
            tag: "dp0",
            type: "9p",
            readOnly: false,
            username: "",
            password: "",
          },
          { source: "/data", target: "/data", tag: "dp1", type: "9p", readOnly: true, username: "", password: "" },
        ],
      }),
    );
    expect(values(argv, "-virtfs")).toEqual([
      "local,path=/home/me/src,mount_tag=dp0,security_model=none,id=fs0",
      "local,path=/data,mount_tag=dp1,security_model=none,id=fs1,readonly=on",
    ]);
  });

  it("doubles commas inside option values, so a path cannot add options", () => {
    expect(optValue("/a,b,,c")).toBe("/a,,b,,,,c");
    const odd = new MachineFiles("/store/x,server=off,path=/tmp/evil");
    const argv = buildQemuArgv(input({ files: odd }));
    expect(values(argv, "-chardev")[1]).toBe(
      "socket,id=qmp0,path=/store/x,,server=off,,path=/tmp/evil/vm/qmp.sock,server=on,wait=off",
    );
  });

  it("appends the base64 of the whole public key line and the host name to the kernel command line", () => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDummy driverplug-vm1";
    const line = kernelCmdline("console=ttyS0 quiet panic=-1", `${key}\n`, "vm1");
    const m = /^console=ttyS0 quiet panic=-1 dp\.authorized_key=(\S+) dp\.hostname=vm1$/.exec(line);
    expect(m).not.toBeNull();
    expect(Buffer.from(m![1]!, "base64").toString("utf8")).toBe(key);
  });
});
