// Protocol points 4 and 5: every unsafe socket directory is refused before
// anything is created in it, with a message that names the directory, what was
// found and the fix; and the plugin leaves no socket anywhere.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chmod, chown, mkdir, readdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pluginEnv, removeDir, runToExit, shortTempDir } from "./spawn-plugin.js";

let base: string;

beforeEach(async () => {
  base = await shortTempDir();
});

afterEach(async () => {
  await removeDir(base);
});

/** Every file name under base, recursively, so a stray socket anywhere shows. */
async function allEntries(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    out.push(join(dir, entry.name));
    if (entry.isDirectory() && !entry.isSymbolicLink()) out.push(...(await allEntries(join(dir, entry.name))));
  }
  return out;
}

async function expectRefused(env: Record<string, string>, ...messageParts: string[]): Promise<void> {
  const before = await allEntries(base);
  const run = await runToExit({ env: pluginEnv(env) });
  expect(run.code).toBe(1);
  expect(run.stdout).toBe("");
  for (const part of messageParts) expect(run.stderr).toContain(part);
  expect(await allEntries(base)).toEqual(before);
}

async function dirWithMode(mode: number): Promise<string> {
  const dir = join(base, `d${mode.toString(8)}`);
  await mkdir(dir);
  await chmod(dir, mode);
  return dir;
}

describe("socket directory refusals", () => {
  for (const mode of [0o777, 0o755, 0o750]) {
    it(`refuses a directory with mode 0${mode.toString(8)}`, async () => {
      const dir = await dirWithMode(mode);
      await expectRefused(
        { PLUGIN_UNIX_SOCKET_DIR: dir },
        `socket directory ${dir} has mode 0${mode.toString(8)}`,
        "chmod 0700",
      );
    });
  }

  it("refuses a directory owned by another user (uid 65534)", async () => {
    const dir = await dirWithMode(0o700);
    await chown(dir, 65534, 65534);
    await expectRefused({ PLUGIN_UNIX_SOCKET_DIR: dir }, `socket directory ${dir} is owned by uid 65534`);
  });

  it("refuses a base directory owned by another user instead of using it", async () => {
    const dir = await dirWithMode(0o700);
    await chown(dir, 65534, 65534);
    await expectRefused({ MACHINE_PLUGIN_SOCKET_DIR: dir }, "owned by uid 65534");
  });

  it("refuses a symlink to a private directory, naming its target", async () => {
    const real = await dirWithMode(0o700);
    const link = join(base, "link");
    await symlink(real, link);
    await expectRefused({ PLUGIN_UNIX_SOCKET_DIR: link }, `socket directory ${link} is a symlink to ${real}`);
  });

  it("refuses a directory under a world-writable ancestor without the sticky bit", async () => {
    const open = await dirWithMode(0o777);
    const dir = join(open, "private");
    await mkdir(dir, { mode: 0o700 });
    await expectRefused({ PLUGIN_UNIX_SOCKET_DIR: dir }, `ancestor ${open}`, "without the sticky bit");
  });

  it("refuses a regular file in place of the directory", async () => {
    const file = join(base, "file");
    await writeFile(file, "", { mode: 0o600 });
    await expectRefused(
      { PLUGIN_UNIX_SOCKET_DIR: file },
      `socket directory ${file} is not a directory (a regular file)`,
    );
  });

  it("refuses a host's private directory that does not exist rather than create it", async () => {
    await expectRefused({ PLUGIN_UNIX_SOCKET_DIR: join(base, "missing") }, "cannot be read");
  });

  it("refuses a socket path over 103 bytes, suggesting a shorter directory", async () => {
    const dir = join(base, "x".repeat(80));
    await mkdir(dir, { mode: 0o700 });
    await expectRefused({ PLUGIN_UNIX_SOCKET_DIR: dir }, "over the 103-byte limit", "use a shorter socket directory");
  });

  it("refuses an over-long base directory before creating it", async () => {
    await expectRefused({ MACHINE_PLUGIN_SOCKET_DIR: join(base, "y".repeat(90)) }, "over the 103-byte limit");
  });

  it("refuses a relative directory", async () => {
    await expectRefused({ PLUGIN_UNIX_SOCKET_DIR: "relative/dir" }, "not an absolute path");
  });
});
