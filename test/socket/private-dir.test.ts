// The socket directory checks, one refusal per unsafe directory, plus what
// passes and the post-bind re-check.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chmod, chown, mkdir, mkdtemp, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  assertDirUnchanged,
  checkPrivateDir,
  ensurePrivateChildDir,
  ensurePrivateDir,
  SocketDirError,
} from "../../src/socket/private-dir.js";

let base: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "dp-"));
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function dir(name: string, mode: number): Promise<string> {
  const path = join(base, name);
  await mkdir(path);
  await chmod(path, mode);
  return path;
}

async function refusal(path: string, policy = {}): Promise<SocketDirError> {
  const err = await checkPrivateDir(path, policy).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SocketDirError);
  return err as SocketDirError;
}

describe("checkPrivateDir", () => {
  it("accepts a 0700 directory of this user under safe ancestors and returns its identity", async () => {
    const path = await dir("ok", 0o700);
    const checked = await checkPrivateDir(path);
    const st = await stat(path);
    expect(checked).toEqual({ path, dev: st.dev, ino: st.ino });
  });

  for (const mode of [0o777, 0o755, 0o750, 0o701]) {
    it(`refuses mode 0${mode.toString(8)} and says chmod 0700`, async () => {
      const path = await dir(`m${mode.toString(8)}`, mode);
      const err = await refusal(path);
      expect(err.message).toContain(`socket directory ${path} has mode 0${mode.toString(8)}`);
      expect(err.message).toContain(`chmod 0700 ${path}`);
    });
  }

  it("refuses a directory owned by uid 65534, naming the owner", async () => {
    const path = await dir("theirs", 0o700);
    await chown(path, 65534, 65534);
    expect((await refusal(path)).message).toContain(`socket directory ${path} is owned by uid 65534, not by this user`);
  });

  it("refuses a symlink, naming its target", async () => {
    const real = await dir("real", 0o700);
    const link = join(base, "link");
    await symlink(real, link);
    expect((await refusal(link)).message).toContain(`socket directory ${link} is a symlink to ${real}`);
  });

  it("refuses a directory under a world-writable ancestor without the sticky bit", async () => {
    const open = await dir("open", 0o777);
    const path = join(open, "p");
    await mkdir(path, { mode: 0o700 });
    const err = await refusal(path);
    expect(err.message).toContain(`ancestor ${open} of socket directory ${path} has mode 0777`);
    expect(err.message).toContain("chmod go-w");
  });

  it("accepts a world-writable ancestor with the sticky bit (as /tmp)", async () => {
    const sticky = await dir("sticky", 0o1777);
    const path = join(sticky, "p");
    await mkdir(path, { mode: 0o700 });
    await expect(checkPrivateDir(path)).resolves.toMatchObject({ path });
  });

  it("refuses an ancestor owned by another user", async () => {
    const theirs = await dir("theirs", 0o755);
    await chown(theirs, 65534, 65534);
    const path = join(theirs, "p");
    await mkdir(path, { mode: 0o700 });
    expect((await refusal(path)).message).toContain(
      `ancestor ${theirs} of socket directory ${path} is owned by uid 65534`,
    );
  });

  it("refuses a regular file", async () => {
    const path = join(base, "file");
    await writeFile(path, "");
    expect((await refusal(path)).message).toContain(`socket directory ${path} is not a directory (a regular file)`);
  });

  it("refuses a relative path", async () => {
    expect((await refusal("rel/dir")).message).toContain("is relative");
  });

  it("with a socket group: accepts 0750 of that group, refuses other bits or the wrong group", async () => {
    const path = await dir("g", 0o750);
    await chown(path, 0, 65534);
    await expect(checkPrivateDir(path, { gid: 65534 })).resolves.toMatchObject({ path });
    expect((await refusal(path, { gid: 12345 })).message).toContain("not the socket group 12345");
    await chmod(path, 0o770);
    expect((await refusal(path, { gid: 65534 })).message).toContain("lets the group write");
  });
});

describe("ensurePrivateDir", () => {
  it("creates a missing directory 0700", async () => {
    const path = join(base, "new");
    await ensurePrivateDir(path);
    expect((await stat(path)).mode & 0o7777).toBe(0o700);
  });

  it("makes missing parents 0700 only when asked to", async () => {
    const path = join(base, "a", "b", "store");
    await expect(ensurePrivateDir(path)).rejects.toThrow(`cannot create socket directory ${path}`);
    const made = await ensurePrivateDir(path, {}, { makeParents: true });
    expect(made.path).toBe(path);
    for (const p of [join(base, "a"), join(base, "a", "b"), path]) expect((await stat(p)).mode & 0o777).toBe(0o700);
  });

  it("checks a directory reached through a symlinked ancestor at its real path", async () => {
    const real = await dir("real", 0o755);
    await mkdir(join(real, "sock"), { mode: 0o700 });
    await symlink(real, join(base, "link"));
    expect((await ensurePrivateDir(join(base, "link", "sock"))).path).toBe(join(real, "sock"));
    // The real path's ancestors are the ones judged: a group-writable one is refused.
    await chmod(real, 0o775);
    await expect(ensurePrivateDir(join(base, "link", "sock"))).rejects.toThrow(`ancestor ${real} of`);
  });

  it("never chmods an existing wrong directory into shape", async () => {
    const path = await dir("wide", 0o755);
    await expect(ensurePrivateDir(path)).rejects.toThrow("has mode 0755");
    expect((await stat(path)).mode & 0o777).toBe(0o755);
  });
});

describe("ensurePrivateChildDir", () => {
  it("creates or accepts an entry of a checked directory, with the entry's own checks", async () => {
    const parent = await ensurePrivateDir(join(base, "store"));
    const made = await ensurePrivateChildDir(parent, "machines");
    expect(made.path).toBe(join(parent.path, "machines"));
    expect((await stat(made.path)).mode & 0o7777).toBe(0o700);
    expect((await ensurePrivateChildDir(parent, "machines")).ino).toBe(made.ino);

    await mkdir(join(parent.path, "wide"), { mode: 0o700 });
    await chmod(join(parent.path, "wide"), 0o755);
    await expect(ensurePrivateChildDir(parent, "wide", {}, "/shown/wide")).rejects.toThrow(
      "directory /shown/wide has mode 0755",
    );
    await symlink(base, join(parent.path, "link"));
    await expect(ensurePrivateChildDir(parent, "link")).rejects.toThrow("is a symlink");
    await writeFile(join(parent.path, "file"), "");
    await expect(ensurePrivateChildDir(parent, "file")).rejects.toThrow("is not a directory");
  });

  it("refuses a name that is not one entry's", async () => {
    const parent = await ensurePrivateDir(join(base, "store"));
    for (const bad of ["..", ".", "", "a/b", "/"])
      await expect(ensurePrivateChildDir(parent, bad)).rejects.toThrow("is not the name of an entry");
  });
});

describe("assertDirUnchanged", () => {
  it("passes for the same directory and fails once it was swapped", async () => {
    const path = await dir("d", 0o700);
    const checked = await checkPrivateDir(path);
    await expect(assertDirUnchanged(checked)).resolves.toBeUndefined();
    await rename(path, join(base, "moved"));
    await mkdir(path, { mode: 0o700 });
    await expect(assertDirUnchanged(checked)).rejects.toThrow("was replaced while the socket was being created");
  });
});
