// `driverplug ssh` against a real VM (the qemu driver and the test guest):
// the command's output, stdin and exit code pass through; the host key is
// recorded in the machine's own known_hosts at the first connection, and a
// different key later is refused without a prompt.
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { KNOWN_HOSTS_FILE } from "../../src/cli/commands/ssh.js";
import { requireVmTools, testGuest } from "../guest/test-guest.js";
import { DRIVERPLUG, expectOk, Sandbox } from "./driverplug-process.js";

let guest: string;
let box: Sandbox | undefined;

beforeAll(() => {
  requireVmTools();
  guest = testGuest().dir;
}, 600_000);

afterEach(async () => {
  if (box) {
    // A failed test must not leave its VM running.
    await box.run(["rm", "--force", "vm1"]);
    await box.dispose();
    box = undefined;
  }
});

/** driverplug with `input` on its stdin. */
async function withStdin(b: Sandbox, args: string[], input: string): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(DRIVERPLUG, args, { env: b.env(), stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stdin.end(input);
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout };
}

describe("driverplug ssh on a real VM", () => {
  it("passes output, stdin and exit codes through, and keeps the host key per machine", async () => {
    box = await Sandbox.create();
    await expectOk(box, ["create", "--driver", "qemu", "--bundle", guest, "vm1"]);
    await expectOk(box, ["start", "vm1"]);

    const knownHosts = join(box.store, "machines", "vm1", KNOWN_HOSTS_FILE);
    const uname = await expectOk(box, ["ssh", "vm1", "--", "uname", "-n"]);
    expect(uname.stdout).toBe("vm1\n");
    // Recorded under the machine's name, hashed as ssh does by default or not.
    const recorded = readFileSync(knownHosts, "utf8");
    expect(recorded).toMatch(/ssh-ed25519 AAAA/);

    const failing = await box.run(["ssh", "vm1", "--", "exit", "3"]);
    expect(failing.code).toBe(3);
    expect(failing.stderr).toBe("");

    const echoed = await withStdin(box, ["ssh", "vm1", "--", "cat"], "through stdin\n");
    expect(echoed).toEqual({ code: 0, stdout: "through stdin\n" });
    expect(readFileSync(knownHosts, "utf8")).toBe(recorded);

    // Another key for the same machine: ssh refuses, and driverplug says nothing of its own.
    const dir = mkdtempSync(join(tmpdir(), "dp-key-"));
    try {
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "k")]);
      const other = readFileSync(join(dir, "k.pub"), "utf8").split(" ").slice(0, 2).join(" ");
      writeFileSync(knownHosts, `driverplug-vm1 ${other}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const refused = await box.run(["ssh", "vm1", "--", "true"]);
    expect(refused.code).toBe(255);
    expect(refused.stderr).toMatch(/Host key verification failed/);
    expect(refused.stderr).not.toMatch(/^driverplug:/m);

    await expectOk(box, ["stop", "vm1"]);
    await expectOk(box, ["rm", "vm1"]);
  }, 600_000);
});
