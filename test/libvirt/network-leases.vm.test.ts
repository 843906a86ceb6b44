// `--network <libvirt network>` through the CLI: the test guest on an
// isolated libvirt network of the test's own (its own bridge, subnet and
// dnsmasq, on the privileged daemon), its address taken from the network's
// DHCP leases: `driverplug ip` gives the address dnsmasq leased to the
// domain's MAC, `ssh-info` names it with port 22, `driverplug ssh` reaches
// the guest there, and stop/rm leave neither domain nor pool. The network is
// destroyed and undefined afterwards, passed or failed.
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { domainName } from "../../src/drivers/libvirt/domain-name.js";
import { macOf } from "../../src/drivers/libvirt/domain-xml.js";
import { expectOk, Sandbox } from "../cli/driverplug-process.js";
import { requireVmTools, testGuest } from "../guest/test-guest.js";
import { forgetMachine } from "./libvirt-cleanup.js";
import { ensureLibvirtDaemon } from "./libvirt-daemon.js";
import { leases, startTestNetwork, type TestNetwork } from "./test-network.js";

const URI = "qemu:///system";
let guest: string;
let box: Sandbox;
let net: TestNetwork | undefined;

const virsh = (...args: string[]) => execFileSync("virsh", ["-q", "-c", URI, ...args], { encoding: "utf8" });

beforeAll(async () => {
  requireVmTools();
  guest = testGuest().dir;
  // As root this is the privileged daemon (qemu:///system), started in its masked namespace when none runs.
  await ensureLibvirtDaemon();
  net = startTestNetwork();
  box = await Sandbox.create();
}, 600_000);

afterAll(async () => {
  if (box) {
    await forgetMachine(box.store, "n1", URI).catch(() => undefined);
    await box.dispose();
  }
  net?.dispose();
}, 120_000);

describe("the libvirt driver on a libvirt network (DHCP leases)", () => {
  it("gets the guest's address from the network's leases and reaches it over ssh", async () => {
    const network = net!;
    await expectOk(box, [
      "create",
      "--driver",
      "libvirt",
      "--uri",
      URI,
      "--network",
      network.name,
      "--bundle",
      guest,
      "n1",
    ]);
    const domain = domainName("n1", `${box.store}/machines/n1`);
    const xml = virsh("dumpxml", domain);
    expect(xml).toContain(`<source network='${network.name}'`);
    const mac = macOf(xml)!.toLowerCase();

    const started = await expectOk(box, ["start", "n1"]);
    expect(started.stderr).toContain(`SSH answers on the guest's lease on network ${network.name}`);

    // The address is the lease dnsmasq gave this domain's MAC, in the network's subnet.
    const ip = (await expectOk(box, ["ip", "n1"])).stdout.trim();
    expect(ip.startsWith(`${network.prefix}.`)).toBe(true);
    expect(leases(network.name).get(mac)).toBe(ip);
    const info = JSON.parse((await expectOk(box, ["ssh-info", "n1", "--json"])).stdout) as Record<string, unknown>;
    expect(info).toMatchObject({ hostname: ip, port: 22 });

    // The guest is reached on that address through the bridge, and sees it as its own.
    expect((await expectOk(box, ["ssh", "n1", "--", "uname", "-n"])).stdout).toBe("n1\n");
    const ifconfig = (await expectOk(box, ["ssh", "n1", "--", "ifconfig", "eth0"])).stdout;
    expect(ifconfig).toMatch(new RegExp(`inet addr:${ip.replaceAll(".", "\\.")}\\s`));
    // The bridge is the network's own, with the host's end of it.
    expect(execFileSync("ip", ["-4", "-o", "addr", "show", "dev", network.bridge], { encoding: "utf8" })).toContain(
      ` ${network.hostIp}/24 `,
    );

    await expectOk(box, ["stop", "n1"]);
    expect((await expectOk(box, ["status", "n1"])).stdout.trim()).toBe("Stopped");
    const noIp = await box.run(["ip", "n1"]);
    expect(noIp.code).not.toBe(0);
    expect(noIp.stderr).toContain('machine "n1" is stopped, so it has no IP address; start it first');
    await expectOk(box, ["rm", "n1"]);
    expect(virsh("list", "--all", "--name")).not.toContain(domain);
    expect(virsh("pool-list", "--all", "--name")).not.toContain(domain);
    expect(await forgetMachine(box.store, "n1", URI)).toBe(false);
  }, 900_000);
});
