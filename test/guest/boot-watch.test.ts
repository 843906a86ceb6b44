// The shared boot watch on its own: which phase a console line shows (as
// SeaBIOS, OVMF, GRUB, a kernel, systemd and cloud-init print them), phases
// only moving forward, and console progress rate-limited however fast the
// console runs. The console here is a scripted ConsoleSource and the clock is
// the test's; the real consoles are exercised by the VM tests.
import { describe, expect, it } from "vitest";
import { later, phaseOf } from "../../src/drivers/guest/boot-phases.js";
import { CONSOLE_PROGRESS_MS, watchBoot } from "../../src/drivers/guest/boot-watch.js";
import { ConsoleLines, tailLines, type ConsoleSource } from "../../src/drivers/guest/console-source.js";

describe("boot phases", () => {
  it.each([
    ["SeaBIOS (version 1.16.2-debian-1.16.2-1)", "firmware"],
    ['BdsDxe: starting Boot0001 "UEFI Misc Device" from PciRoot(0x0)', "firmware"],
    ["Welcome to GRUB!", "firmware"],
    ["Loading Linux 6.1.0-57-amd64 ...", "kernel"],
    ["[    0.000000] Linux version 6.1.0-57-amd64", "kernel"],
    ["[   20.701176] systemd[1]: Inserted module 'autofs4'", "systemd"],
    ["Welcome to Debian GNU/Linux 12 (bookworm)!", "systemd"],
    ["[  OK  ] Started systemd-journald.service - Journal Service.", "systemd"],
    ["[   78.609159] cloud-init[356]: Cloud-init v. 22.4.2 running 'init-local'", "cloud-init"],
    ["random text", undefined],
  ])("%s -> %s", (line, phase) => {
    expect(phaseOf(line)).toBe(phase);
  });

  it("only move forward", () => {
    expect(later("systemd", "kernel")).toBe("systemd");
    expect(later("kernel", "cloud-init")).toBe("cloud-init");
  });
});

describe("console lines", () => {
  it("are split across chunks, with the ready line seen even when a chunk cuts it", () => {
    const lines = new ConsoleLines();
    expect(lines.push("a\r\nb")).toEqual(["a"]);
    expect(lines.push("c\ndriverplug-re")).toEqual(["bc"]);
    expect(lines.sawReady).toBe(false);
    expect(lines.push("ady\n")).toEqual(["driverplug-ready"]);
    expect(lines.sawReady).toBe(true);
  });

  it("keep a partial line to 4 KiB and a tail to printable text", () => {
    const lines = new ConsoleLines();
    lines.push("x".repeat(100_000));
    expect(lines.push("\n")[0]).toHaveLength(4096);
    expect(tailLines("a\n\x1b[31mred\x1b[0m\n\n\x07bell\n", 2)).toBe("red | bell");
  });
});

describe("the boot watch", () => {
  it("tells every phase change but at most one other console line per interval, however chatty the guest", async () => {
    let now = 0;
    let looks = 0;
    const console: ConsoleSource = {
      sawReady: false,
      async newLines() {
        looks++;
        now += 200;
        if (looks === 3) return ["SeaBIOS (version 1.16.2)", ...Array(10_000).fill("y")];
        if (looks === 10) return ["[    0.000000] Linux version 6.1.0", ...Array(10_000).fill("y")];
        if (looks === 60) {
          (this as { sawReady: boolean }).sawReady = true;
          return ["driverplug-ready"];
        }
        return Array(10_000).fill("y");
      },
      tail: async () => "y",
    };
    const steps: string[] = [];
    for await (const p of watchBoot({
      console,
      readiness: "virtio-serial",
      firstPhase: "firmware",
      sshWhere: "here",
      sshAnswers: async () => true,
      timeoutMs: 600_000,
      signal: new AbortController().signal,
      alive: async () => true,
      now: () => now,
    }))
      steps.push(`${p.step}: ${p.message}`);
    const consoleSteps = steps.filter((s) => /^(firmware|kernel):/.test(s));
    // 60 looks of 200 ms = 12 s: the opening line, the kernel's phase change, and a line every 2 s.
    expect(consoleSteps.length).toBeLessThanOrEqual(2 + (60 * 200) / CONSOLE_PROGRESS_MS);
    expect(steps).toContain("kernel: Kernel at 2.0 s: [    0.000000] Linux version 6.1.0");
    expect(steps.slice(-3).map((s) => s.split(":")[0])).toEqual(["ready", "ssh", "ssh"]);
  });
});
