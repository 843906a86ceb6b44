// Where a plugin found by name may come from: never from a place another user
// (uid 65534) could have written. A 0777 (or sticky 1777) plugin dir, the same
// dir reached through PATH, a plugin file another uid owns or anyone can
// write, a symlink into an open dir: each is refused with the fix, and
// `driverplug drivers` says why. A SHA-256 pin refuses a changed executable.
// Plus the messages of a miss: "exists but is not executable", each place
// listed once, "did you mean".
import { createHash } from "node:crypto";
import { chmod, chown, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClientError, launch, silentLogger } from "../../src/host/index.js";
import { Sandbox } from "../cli/driverplug-process.js";
import { FIXTURE } from "../host/host-test-env.js";
import { Figures } from "./figures.js";
import { OTHER_UID } from "./other-user.js";

const figures = new Figures("plugin-paths");
afterAll(() => figures.print());

let box: Sandbox;
beforeEach(async () => {
  box = await Sandbox.create();
});
afterEach(async () => {
  await box.dispose();
});

/** A working plugin: a shell script that runs the fixture plugin. */
async function plantPlugin(dir: string, name: string, mode = 0o755): Promise<string> {
  const path = join(dir, `driverplug-driver-${name}`);
  await writeFile(path, `#!/bin/sh\nexec "${process.execPath}" "${FIXTURE}" serve\n`, { mode });
  await chmod(path, mode);
  return path;
}

async function dir(name: string, mode: number, owner?: number): Promise<string> {
  const path = join(box.root, name);
  await mkdir(path);
  await chmod(path, mode);
  if (owner !== undefined) await chown(path, owner, owner);
  return path;
}

const launchIt = (name: string, options: Parameters<typeof launch>[1] = {}) =>
  launch(name, {
    path: "",
    socketBaseDir: box.runtimeDir,
    logger: silentLogger,
    startTimeoutMs: 10_000,
    ...options,
  });

async function refused(name: string, options: Parameters<typeof launch>[1], ...parts: string[]): Promise<void> {
  figures.add("cases");
  const result = await launchIt(name, options).then(
    async (handle) => {
      await handle.close();
      return new Error("the plugin was run");
    },
    (e: unknown) => e,
  );
  expect(result).toBeInstanceOf(ClientError);
  expect((result as ClientError).reason).toBe("untrusted-executable");
  for (const part of parts) expect((result as ClientError).message).toContain(part);
  figures.add("refused");
}

describe("plugins another user could have planted", () => {
  it("refuses a plugin in a 0777 plugin dir, and the same dir reached through PATH", async () => {
    const open = await dir("open", 0o777);
    await plantPlugin(open, "evil");
    await refused("evil", { pluginDirs: [open] }, `plugin directory ${open} has mode 0777`, `chmod go-w ${open}`);
    await refused("evil", { path: `/nonexistent:${open}` }, `plugin directory ${open} has mode 0777`);
  });

  it("refuses a sticky world-writable dir (1777): the attack is a new file", async () => {
    const sticky = await dir("sticky", 0o1777);
    await plantPlugin(sticky, "evil");
    await refused("evil", { pluginDirs: [sticky] }, `plugin directory ${sticky} has mode 01777`);
  });

  it("refuses a plugin dir another uid owns", async () => {
    const theirs = await dir("theirs", 0o755);
    await plantPlugin(theirs, "evil");
    await chown(theirs, OTHER_UID, OTHER_UID);
    await refused("evil", { pluginDirs: [theirs] }, `owned by uid ${OTHER_UID}`);
  });

  it("refuses a 0777 plugin file another uid owns in a private plugin dir", async () => {
    const mine = await dir("mine", 0o700);
    const path = await plantPlugin(mine, "evil", 0o777);
    await chown(path, OTHER_UID, OTHER_UID);
    await refused("evil", { pluginDirs: [mine] }, `plugin ${path} is owned by uid ${OTHER_UID}`);
  });

  it("refuses a group-writable plugin file of the user's own", async () => {
    const mine = await dir("mine", 0o700);
    const path = await plantPlugin(mine, "evil", 0o775);
    await refused("evil", { pluginDirs: [mine] }, `plugin ${path} has mode 0775`, `chmod go-w ${path}`);
  });

  it("refuses a symlink in a private dir that leads into an open dir", async () => {
    const open = await dir("open", 0o777);
    const real = await plantPlugin(open, "evil");
    const mine = await dir("mine", 0o700);
    await symlink(real, join(mine, "driverplug-driver-evil"));
    await refused("evil", { pluginDirs: [mine] }, `plugin directory ${open} has mode 0777`);
  });

  it("`driverplug drivers` lists a refused candidate with the reason", async () => {
    figures.add("cases");
    const open = await dir("open", 0o777);
    await plantPlugin(open, "evil");
    const r = await box.run(["drivers"], { DRIVERPLUG_PLUGIN_DIRS: open, PATH: process.env.PATH ?? "" });
    expect(r.code, r.stderr).toBe(0);
    const row = r.stdout.split("\n").find((l) => l.startsWith("evil"));
    expect(row).toContain("has mode 0777");
    expect(r.stdout.split("\n")[0]).toContain("REFUSED");
    figures.add("refused");
  });
});

describe("a pinned plugin", () => {
  it("runs when its SHA-256 matches and is refused when it changed", async () => {
    const mine = await dir("mine", 0o700);
    const path = await plantPlugin(mine, "pinned");
    const digest = createHash("sha256")
      .update(await readFile(path))
      .digest("hex");
    const handle = await launchIt("pinned", { pluginDirs: [mine], sha256: digest });
    await handle.close();
    await writeFile(path, `${await readFile(path, "utf8")}# changed\n`);
    await refused("pinned", { pluginDirs: [mine], sha256: digest }, "not the pinned", digest);
  });
});

describe("what a miss says", () => {
  it("names a plugin that exists but is not executable, lists each place once, and suggests a near name", async () => {
    const mine = await dir("mine", 0o700);
    await plantPlugin(mine, "mini", 0o644);
    await plantPlugin(mine, "minikube");
    const err = (await launchIt("mini", { pluginDirs: [mine, mine], path: `${mine}:${mine}` }).catch(
      (e: unknown) => e,
    )) as ClientError;
    expect(err).toBeInstanceOf(ClientError);
    expect(err.reason).toBe("not-found");
    const path = join(mine, "driverplug-driver-mini");
    expect(err.message).toContain(`${path} exists but is not executable (mode 0644): chmod +x ${path}`);
    expect(err.message.split(path).length - 1).toBe(3); // the place, and twice in its note; listed once
    const miss = (await launchIt("minii", { pluginDirs: [mine] }).catch((e: unknown) => e)) as ClientError;
    expect(miss.message).toContain("did you mean `mini`");
  });
});
