// `driverplug ssh`: the ssh arguments made from a driver's GetSSHInfo (which
// is untrusted plugin text), and the command's failure on a machine that is
// not running. The session itself is tested against a real VM in test/qemu.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sshArgs, KNOWN_HOSTS_FILE } from "../../src/cli/commands/ssh.js";
import { CliError } from "../../src/cli/cli-error.js";
import { proxyCommand } from "../../src/cli/ssh-proxy.js";
import { Sandbox } from "./driverplug-process.js";

const info = { hostname: "127.0.0.1", port: 40022, username: "root", keyPath: "/store/machines/vm1/id_ed25519" };

describe("sshArgs", () => {
  it("uses the machine's key only, its own known_hosts under the machine's name, never prompts, and ends options before the host", () => {
    const args = sshArgs("vm1", info, "/store/machines/vm1/ssh_known_hosts", ["uname", "-a"]);
    expect(args).toEqual([
      ...["-i", "/store/machines/vm1/id_ed25519", "-o", "IdentitiesOnly=yes"],
      ...["-p", "40022", "-l", "root"],
      ...["-o", "BatchMode=yes", "-o", "ConnectTimeout=30", "-o", "StrictHostKeyChecking=accept-new"],
      ...["-o", "UserKnownHostsFile=/store/machines/vm1/ssh_known_hosts", "-o", "GlobalKnownHostsFile=/dev/null"],
      ...["-o", "HostKeyAlias=driverplug-vm1", "-o", "LogLevel=ERROR"],
      ...["--", "127.0.0.1", "uname", "-a"],
    ]);
  });

  it("opens a shell when there is no command, and leaves -i out when the driver names no key", () => {
    const args = sshArgs("vm1", { ...info, keyPath: "" }, "/kh", []);
    expect(args).not.toContain("-i");
    expect(args.slice(-2)).toEqual(["--", "127.0.0.1"]);
  });

  it("goes through the driver's Unix socket with a ProxyCommand when it gives one, sessions sharing one connection", () => {
    const args = sshArgs(
      "vm1",
      { ...info, unixSocketPath: "/store/machines/vm1/vm/ssh.sock" },
      "/store/machines/vm1/kh",
      ["true"],
    );
    expect(args.slice(0, 8)).toEqual([
      ...["-o", `ProxyCommand=${proxyCommand("/store/machines/vm1/vm/ssh.sock")}`],
      ...["-o", "ControlMaster=auto", "-o", "ControlPath=/store/machines/vm1/ssh-mux", "-o", "ControlPersist=no"],
    ]);
    // A store path too long for ssh's control socket: no multiplexing, still the socket.
    const long = `/${"s".repeat(90)}/kh`;
    const noMux = sshArgs("vm1", { ...info, unixSocketPath: "/x/ssh.sock" }, long, []);
    expect(noMux.some((a) => a.startsWith("ControlMaster"))).toBe(false);
    expect(noMux[1]).toMatch(/^ProxyCommand=/);
    // The proxy waits for a fresh server's banner for up to two minutes: ssh's own timeout is longer.
    expect(args).toContain("ConnectTimeout=150");
  });

  it("writes a ProxyCommand that joins ssh to the socket, quoting the path for the shell and ssh's % tokens", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dp-proxy-"));
    const path = join(dir, "it's 100%.sock");
    const server = createServer((s) => {
      s.write("SSH-2.0-test\r\n");
      s.on("data", (d) => s.end(`echo:${d.toString()}`));
    });
    await new Promise<void>((r) => server.listen(path, r));
    try {
      const command = proxyCommand(path);
      expect(command).toContain("100%%.sock");
      // As ssh runs it: %% back to %, then `exec <command>` with /bin/sh.
      const child = spawn("/bin/sh", ["-c", `exec ${command.replaceAll("%%", "%")}`], {
        stdio: ["pipe", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      child.stdin.end("hello");
      const [code] = (await once(child, "exit")) as [number];
      expect(code).toBe(0);
      expect(out).toBe("SSH-2.0-test\r\necho:hello");
      // Nobody there: a clear message and ssh's failure code.
      const missing = spawn("/bin/sh", ["-c", `exec ${proxyCommand(join(dir, "none.sock"))}`], { stdio: "pipe" });
      let err = "";
      missing.stderr.on("data", (c: Buffer) => (err += c.toString()));
      missing.stdin.end();
      expect((await once(missing, "exit"))[0]).toBe(255);
      expect(err).toMatch(/^driverplug ssh: cannot connect to .*none\.sock: connect ENOENT/);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("passes ssh's bytes on only after a fresh server's banner, reconnecting past a silent or stale one", async () => {
    // The socket of a virtio-serial port whose guest missed a hang-up: the first connection meets a server
    // that already sent its banner to somebody else (silence), the second meets stale bytes, the third a
    // fresh server. Only the third may see what ssh writes.
    const dir = mkdtempSync(join(tmpdir(), "dp-proxy-"));
    const path = join(dir, "ssh.sock");
    const heard: string[] = [];
    let connections = 0;
    const server = createServer((s) => {
      const n = ++connections;
      s.on("data", (d) => {
        heard.push(`${n}:${d.toString()}`);
        if (n === 3) s.end(`echo:${d.toString()}`);
      });
      s.on("error", () => undefined);
      if (n === 2) s.write(Buffer.from([0, 0, 0, 12, 10, 0x14]));
      if (n === 3) s.write("SSH-2.0-fresh\r\n");
    });
    await new Promise<void>((r) => server.listen(path, r));
    try {
      const command = proxyCommand(path, process.execPath, { silenceMs: 300 });
      const child = spawn("/bin/sh", ["-c", `exec ${command}`], { stdio: ["pipe", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      child.stdin.end("SSH-2.0-client");
      const [code] = (await once(child, "exit")) as [number];
      expect(code).toBe(0);
      expect(connections).toBe(3);
      expect(heard).toEqual(["3:SSH-2.0-client"]);
      expect(out).toBe("SSH-2.0-fresh\r\necho:SSH-2.0-client");
      // A server that never speaks: the proxy gives up within its patience, saying what it waited for.
      const silent = createServer(() => undefined);
      const quiet = join(dir, "quiet.sock");
      await new Promise<void>((r) => silent.listen(quiet, r));
      const gaveUp = spawn(
        "/bin/sh",
        ["-c", `exec ${proxyCommand(quiet, process.execPath, { silenceMs: 200, patienceMs: 2_500 })}`],
        { stdio: "pipe" },
      );
      let err = "";
      gaveUp.stderr.on("data", (c: Buffer) => (err += c.toString()));
      gaveUp.stdin.end("x");
      expect((await once(gaveUp, "exit"))[0]).toBe(255);
      expect(err).toMatch(
        /^driverplug ssh: no SSH server answered on .*quiet\.sock within 2\.5 s \(it said nothing\)\n$/,
      );
      silent.close();
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("accepts an IPv6 address, brackets or not, and a DNS name", () => {
    expect(sshArgs("vm1", { ...info, hostname: "[::1]" }, "/kh", []).at(-1)).toBe("::1");
    expect(sshArgs("vm1", { ...info, hostname: "fe80::1" }, "/kh", []).at(-1)).toBe("fe80::1");
    expect(sshArgs("vm1", { ...info, hostname: "vm1.local" }, "/kh", []).at(-1)).toBe("vm1.local");
  });

  it("goes through the driver's SSH jump with a ProxyCommand of checked words and the jump's pinned key", () => {
    const jump = {
      hostname: "hv.example",
      port: 2222,
      username: "lv",
      keyPath: "/k/id",
      knownHostsPath: "/m/lv/known_hosts",
    };
    const args = sshArgs("vm1", { ...info, jump }, "/kh", ["true"]);
    expect(args.slice(0, 2)).toEqual([
      "-o",
      "ProxyCommand=ssh -o BatchMode=yes -o ConnectTimeout=30 -o LogLevel=ERROR -o StrictHostKeyChecking=yes " +
        "-o UserKnownHostsFile=/m/lv/known_hosts -o GlobalKnownHostsFile=/dev/null -i /k/id -o IdentitiesOnly=yes " +
        "-p 2222 -l lv -W %h:%p -- hv.example",
    ]);
    expect(args.slice(-3)).toEqual(["--", "127.0.0.1", "true"]);
  });

  it.each([
    ["jump hostname", { hostname: "-oProxyCommand=x" }],
    ["jump username", { username: "a b" }],
    ["jump key path", { keyPath: "/k/$(touch x)" }],
    ["jump known_hosts path", { knownHostsPath: "/a b/kh" }],
  ])("refuses a %s that the ProxyCommand's shell would read", (what, bad) => {
    const jump = { hostname: "hv", port: 22, username: "lv", keyPath: "", knownHostsPath: "", ...bad };
    expect(() => sshArgs("vm1", { ...info, jump }, "/kh", [])).toThrow(new RegExp(`unusable ${what}`));
  });

  it.each([
    ["username", { username: "-oProxyCommand=touch /tmp/pwned" }, /unusable username "-oProxyCommand/],
    ["username", { username: "root@evil" }, /unusable username/],
    ["username", { username: "" }, /unusable username ""/],
    ["hostname", { hostname: "-oProxyCommand=x" }, /unusable hostname/],
    ["hostname", { hostname: "host name" }, /unusable hostname/],
    ["port", { port: 0 }, /unusable port 0/],
    ["port", { port: 70000 }, /unusable port 70000/],
    ["key path", { keyPath: "relative/key" }, /unusable key path "relative\/key"/],
    ["key path", { keyPath: "/a\nb" }, /unusable key path/],
    ["Unix socket path", { unixSocketPath: "rel.sock" }, /unusable Unix socket path "rel\.sock"/],
    ["Unix socket path", { unixSocketPath: "/a\nProxyCommand=x" }, /unusable Unix socket path/],
  ])("refuses a driver's %s that ssh would misread (%j)", (_what, bad, message) => {
    let thrown: unknown;
    try {
      sshArgs("vm1", { ...info, ...bad }, "/kh", []);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(CliError);
    expect((thrown as Error).message).toMatch(message);
    expect((thrown as Error).message).toMatch(/the driver is at fault/);
  });
});

describe("driverplug ssh on the fake driver", () => {
  let box: Sandbox;
  beforeEach(async () => {
    box = await Sandbox.create();
  });
  afterEach(async () => {
    await box.dispose();
  });

  it("fails with the driver's reason when the machine is not running, without running ssh", async () => {
    expect((await box.run(["create", "--driver", "fake", "m1"])).code).toBe(0);
    const ssh = await box.run(["ssh", "m1", "--", "true"]);
    expect(ssh.code).toBe(4);
    expect(ssh.stderr).toMatch(/^driverplug: GetSSHInfo failed \(FAILED_PRECONDITION\): /);
    expect(existsSync(join(box.store, "machines", "m1", KNOWN_HOSTS_FILE))).toBe(false);
    expect(await box.pluginDirs()).toEqual([]);
  });

  it("names a machine that does not exist", async () => {
    const ssh = await box.run(["ssh", "nope"]);
    expect(ssh.code).toBe(3);
    expect(ssh.stderr).toMatch(/no machine named "nope"/);
  });
});
