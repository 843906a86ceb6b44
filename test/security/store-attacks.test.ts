// Attacks on the machine store by another local user (uid 65534): a store
// under a directory it can write, store directories it owns or opened up, a
// machine directory or config.json it swapped in, and a symlink planted where
// the fake driver writes its temp file. Each is refused with a message that
// names the path and the fix, and nothing of the victim's is written.
import { chmod, chown, mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { MachineStore as FakeMachineStore } from "../../src/drivers/fake/machine-store.js";
import { expectOk, Sandbox } from "../cli/driverplug-process.js";
import { Figures } from "./figures.js";
import { OTHER_UID } from "./other-user.js";
import { tree } from "./tree.js";

const figures = new Figures("store-attacks");
afterAll(() => figures.print());

let box: Sandbox;
beforeEach(async () => {
  box = await Sandbox.create();
});
afterEach(async () => {
  await box.dispose();
});

async function refused(
  args: string[],
  parts: string[],
  env: Record<string, string> = {},
): Promise<{ stderr: string; stdout: string }> {
  figures.add("cases");
  const r = await box.run(args, env);
  // Refused: a failure exit code (which one is the CLI's exit-code table's business).
  expect(r.code, `driverplug ${args.join(" ")} was accepted: ${r.stdout}${r.stderr}`).toBeGreaterThan(0);
  for (const part of parts) expect(r.stderr).toContain(part);
  figures.add("refused");
  return r;
}

/** A machine directory as the other user would forge it: its own dir, a config.json pointing at itself. */
async function forgeMachineDir(dir: string, storePath: string): Promise<void> {
  await mkdir(dir, { mode: 0o700 });
  const config = { version: 1, driver: "fake", config: { machineName: "m1", storePath } };
  await writeFile(join(dir, "config.json"), JSON.stringify(config), { mode: 0o600 });
  await chown(join(dir, "config.json"), OTHER_UID, OTHER_UID);
  await chown(dir, OTHER_UID, OTHER_UID);
}

describe("a store another user can write", () => {
  it("refuses a store under a 0777 directory another uid made, and writes nothing there", async () => {
    const shared = join(box.root, "shared");
    await mkdir(shared);
    await chmod(shared, 0o777);
    await chown(shared, OTHER_UID, OTHER_UID);
    const store = join(shared, "store");
    await refused(["create", "--driver", "fake", "m1"], [`ancestor ${shared}`, `owned by uid ${OTHER_UID}`], {
      DRIVERPLUG_STORE: store,
    });
    expect(await tree(shared)).toEqual([]);
  });

  it("refuses a store under a world-writable directory without the sticky bit", async () => {
    const open = join(box.root, "open");
    await mkdir(open);
    await chmod(open, 0o777);
    await refused(["ls"], [`ancestor ${open}`, "chmod go-w"], { DRIVERPLUG_STORE: join(open, "store") });
    expect(await tree(open)).toEqual([]);
  });

  for (const mode of [0o777, 0o755, 0o750]) {
    it(`refuses a store root of mode 0${mode.toString(8)} and says how to fix it`, async () => {
      await mkdir(box.store);
      await chmod(box.store, mode);
      await refused(["ls"], [`machine store directory ${box.store} has mode 0${mode.toString(8)}`, "chmod 0700"]);
    });
  }

  it("refuses a store root owned by another uid", async () => {
    await mkdir(box.store, { mode: 0o700 });
    await chown(box.store, OTHER_UID, OTHER_UID);
    await refused(["ls"], [`machine store directory ${box.store} is owned by uid ${OTHER_UID}`]);
  });

  for (const sub of ["machines", "locks"]) {
    it(`refuses a ${sub}/ directory another uid owns`, async () => {
      await mkdir(join(box.store, sub), { recursive: true, mode: 0o700 });
      await chown(join(box.store, sub), OTHER_UID, OTHER_UID);
      await refused(["create", "--driver", "fake", "m1"], [join(box.store, sub), `owned by uid ${OTHER_UID}`]);
    });

    it(`refuses a ${sub}/ that is a symlink`, async () => {
      const elsewhere = join(box.root, `elsewhere-${sub}`);
      await mkdir(elsewhere, { mode: 0o700 });
      await mkdir(box.store, { mode: 0o700 });
      await symlink(elsewhere, join(box.store, sub));
      await refused(["create", "--driver", "fake", "m1"], [join(box.store, sub), "is a symlink"]);
      expect(await readdir(elsewhere)).toEqual([]);
    });
  }
});

describe("the warm plugins' records in a plugins/ another user can write", () => {
  it("refuses a plugins/ another uid owns, or that is a symlink, and reads no record from it", async () => {
    await expectOk(box, ["ls"]);
    const plugins = join(box.store, "plugins");
    await mkdir(plugins, { mode: 0o700 });
    await chown(plugins, OTHER_UID, OTHER_UID);
    await refused(["plugins", "--json"], [plugins, `owned by uid ${OTHER_UID}`]);
    const { rm } = await import("node:fs/promises");
    await rm(plugins, { recursive: true });
    const elsewhere = join(box.root, "elsewhere-plugins");
    await mkdir(elsewhere, { mode: 0o700 });
    await writeFile(join(elsewhere, "fake.json"), "{}", { mode: 0o600 });
    await symlink(elsewhere, plugins);
    await refused(["plugins", "--json"], [plugins, "is a symlink"]);
    // Made fresh when missing: 0700, this user's.
    await rm(plugins);
    expect(JSON.parse((await expectOk(box, ["plugins", "--json"])).stdout)).toEqual([]);
  });
});

describe("a machine another user swapped in", () => {
  it("refuses a machine directory owned by another uid with a forged config.json", async () => {
    await expectOk(box, ["ls"]);
    const attacker = join(box.root, "attacker");
    await mkdir(attacker, { mode: 0o777 });
    await chown(attacker, OTHER_UID, OTHER_UID);
    await forgeMachineDir(join(box.store, "machines", "m1"), attacker);
    await refused(["start", "m1"], [`machine directory ${join(box.store, "machines", "m1")}`, `uid ${OTHER_UID}`]);
    await refused(["status", "m1"], [`uid ${OTHER_UID}`]);
    expect(await readdir(attacker)).toEqual([]);
  });

  it("refuses a machine directory that is a symlink to a directory of the user's, or that others can enter", async () => {
    await expectOk(box, ["create", "--driver", "fake", "m1"]);
    const machine = join(box.store, "machines", "m1");
    const elsewhere = join(box.root, "elsewhere-m1");
    const { rename } = await import("node:fs/promises");
    await rename(machine, elsewhere);
    await symlink(elsewhere, machine);
    await refused(["status", "m1"], [`machine directory ${machine}`, "is a symlink"]);
    // `ls` lists directories only: nothing is read through the link.
    const listed = await box.run(["ls", "--json"]);
    expect(JSON.parse(listed.stdout)).toEqual([]);
    const { rm } = await import("node:fs/promises");
    await rm(machine);
    await rename(elsewhere, machine);
    await chmod(machine, 0o755);
    await refused(["status", "m1"], [`machine directory ${machine}`, "mode 0755", "chmod 0700"]);
  });

  it("refuses a config.json owned by another uid in the user's own machine directory", async () => {
    await expectOk(box, ["create", "--driver", "fake", "m1"]);
    await chown(box.configPath("m1"), OTHER_UID, OTHER_UID);
    await refused(["status", "m1"], [box.configPath("m1"), `owned by uid ${OTHER_UID}`]);
  });

  it("refuses a config.json that others can write", async () => {
    await expectOk(box, ["create", "--driver", "fake", "m1"]);
    await chmod(box.configPath("m1"), 0o666);
    await refused(["status", "m1"], [box.configPath("m1"), "mode 0666", "chmod 0600"]);
  });

  it("refuses a config.json that is a symlink, and does not read its target", async () => {
    await expectOk(box, ["create", "--driver", "fake", "m1"]);
    const other = join(box.root, "other.json");
    await writeFile(other, await readFile(box.configPath("m1")), { mode: 0o600 });
    const { rm } = await import("node:fs/promises");
    await rm(box.configPath("m1"));
    await symlink(other, box.configPath("m1"));
    await refused(["status", "m1"], [box.configPath("m1"), "is a symlink"]);
  });

  it("refuses to remove a machine directory another uid owns", async () => {
    await expectOk(box, ["ls"]);
    const dir = join(box.store, "machines", "m1");
    await forgeMachineDir(dir, dir);
    await refused(["rm", "--force", "m1"], [`uid ${OTHER_UID}`]);
    expect(await readdir(dir)).toEqual(["config.json"]);
  });
});

describe("atomic writes", () => {
  it("the fake driver's record write never follows a symlink planted at a temp name", async () => {
    figures.add("cases");
    const storePath = join(box.root, "machine");
    await mkdir(storePath, { mode: 0o700 });
    const victim = join(box.root, "bashrc");
    await writeFile(victim, "# the victim's shell set-up\n", { mode: 0o600 });
    const store = new FakeMachineStore(storePath);
    // The temp names a guessable writer would use (pid-based), all pointing at the victim.
    for (const name of ["fake-machine.json", "id_ed25519"]) {
      await symlink(victim, join(storePath, `${name}.${process.pid}.tmp`));
    }
    await store.write({ name: "m1", state: "running" });
    await store.writeOwned("id_ed25519", "key\n");
    expect(await readFile(victim, "utf8")).toBe("# the victim's shell set-up\n");
    expect(JSON.parse(await readFile(join(storePath, "fake-machine.json"), "utf8"))).toEqual({
      name: "m1",
      state: "running",
    });
    // Nothing but the two files and the planted links: no temp file left behind.
    expect((await readdir(storePath)).filter((f) => f.endsWith(".tmp") && !f.includes(String(process.pid)))).toEqual(
      [],
    );
    figures.add("refused");
  });

  it("config.json is written compact, as one line", async () => {
    figures.add("cases");
    await expectOk(box, ["create", "--driver", "fake", "m1"]);
    const text = await readFile(box.configPath("m1"), "utf8");
    expect(text.trimEnd().split("\n")).toHaveLength(1);
    expect(JSON.parse(text).driver).toBe("fake");
    figures.add("refused");
  });
});
