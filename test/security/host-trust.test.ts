// Attacks on the host: a socket base dir someone else prepared, and a plugin
// (or a tampered reattach record) naming a socket the host must not trust.
// Each is refused with its own message; nothing is left (no private dir, no
// child process, not even a zombie).
import { chmod, chown, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { launch, ClientError, reattach, silentLogger } from "../../src/host/index.js";
import { childProcesses, entries, makeHostTestEnv, type HostTestEnv } from "../host/host-test-env.js";
import { Figures } from "./figures.js";
import { OTHER_UID } from "./other-user.js";
import { tree } from "./tree.js";

const HOSTILE = fileURLToPath(new URL("./fixtures/hostile-plugin.mjs", import.meta.url));
const figures = new Figures("host-trust");
afterAll(() => figures.print());

let env: HostTestEnv;
beforeEach(async () => {
  env = await makeHostTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});

/** `keep`: pids of plugins the test itself runs, which must stay. */
async function refusal(p: Promise<unknown>, reason: string, parts: string[], keep: number[] = []): Promise<void> {
  figures.add("cases");
  const err = await p.then(
    () => new Error("it was accepted, expected a ClientError"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ClientError);
  expect((err as ClientError).reason).toBe(reason);
  for (const part of parts) expect((err as ClientError).message).toContain(part);
  expect(childProcesses().filter((c) => !keep.includes(c.pid))).toEqual([]);
  figures.add("refused");
}

describe("a socket base dir prepared by someone else", () => {
  const launchIn = (base: string) => launch("fake", { socketBaseDir: base, logger: silentLogger });

  async function expectBaseRefused(base: string, ...parts: string[]): Promise<void> {
    const before = await tree(env.root);
    await refusal(launchIn(base), "socket-dir", [`cannot make a private socket directory under ${base}`, ...parts]);
    expect(await tree(env.root)).toEqual(before);
  }

  for (const mode of [0o700, 0o755]) {
    it(`refuses a base dir owned by uid ${OTHER_UID} (mode 0${mode.toString(8)})`, async () => {
      await mkdir(env.base, { mode });
      await chmod(env.base, mode);
      await chown(env.base, OTHER_UID, OTHER_UID);
      await expectBaseRefused(env.base, `owned by uid ${OTHER_UID}`);
    });
  }

  for (const mode of [0o777, 0o755, 0o750, 0o711]) {
    it(`refuses a base dir with mode 0${mode.toString(8)}`, async () => {
      await mkdir(env.base);
      await chmod(env.base, mode);
      await expectBaseRefused(env.base, `has mode 0${mode.toString(8)}`);
    });
  }

  it("refuses a base dir that is a symlink to a good directory", async () => {
    const real = join(env.root, "real");
    await mkdir(real, { mode: 0o700 });
    await symlink(real, env.base);
    await expectBaseRefused(env.base, `is a symlink to ${real}`);
  });

  it("refuses a regular file at the base dir's path", async () => {
    await writeFile(env.base, "");
    await expectBaseRefused(env.base, "is not a directory (a regular file)");
  });

  it("refuses a base dir under a world-writable ancestor without the sticky bit, creating nothing", async () => {
    const open = join(env.root, "open");
    await mkdir(open);
    await chmod(open, 0o777);
    await expectBaseRefused(join(open, "b"), `ancestor ${open}`);
  });
});

describe("a handshake naming a socket the host must not trust", () => {
  const launchHostile = (mode: string) =>
    launch("hostile", {
      executable: HOSTILE,
      args: [mode],
      socketBaseDir: env.base,
      logger: silentLogger,
      startTimeoutMs: 10_000,
    });

  const cases: Array<[string, string, string]> = [
    ["a socket owned by another user", "addr-other-owner", `owned by uid ${OTHER_UID}`],
    ["a socket with group bits (0660) when no group was asked for", "addr-0660", "mode 0660"],
    ["a FIFO in the private dir", "addr-fifo", "not a socket"],
    ["the private directory itself", "addr-private-dir", "not directly inside the private directory"],
    ["a path with a trailing slash", "addr-trailing-slash", "(ENOTDIR)"],
  ];
  for (const [what, mode, said] of cases) {
    it(`refuses ${what}`, async () => {
      await refusal(launchHostile(mode), "untrusted-address", [said]);
      expect(await entries(env.base)).toEqual([]);
    });
  }

  it("refuses another plugin's live socket in a sibling private dir, and that plugin keeps serving", async () => {
    const victim = await launch("fake", { socketBaseDir: env.base, logger: silentLogger });
    try {
      await refusal(
        launchHostile("addr-other-plugin"),
        "untrusted-address",
        [victim.record.address, "not directly inside the private directory"],
        [victim.pid],
      );
      expect((await victim.client.getInfo({})).driverName).toBe("fake");
      expect(await entries(env.base)).toEqual([victim.record.privateDir.split("/").at(-1)]);
    } finally {
      await victim.close();
    }
  });
});

describe("a tampered reattach record", () => {
  it("refuses a record whose private dir is a symlink to the real one", async () => {
    const plugin = await launch("fake", { socketBaseDir: env.base, logger: silentLogger });
    try {
      const link = join(env.scratch, "link");
      await symlink(plugin.record.privateDir, link);
      await refusal(
        reattach({ ...plugin.record, privateDir: link, address: join(link, plugin.record.address.split("/").at(-1)!) }),
        "bad-record",
        ["is a symlink"],
        [plugin.pid],
      );
    } finally {
      await plugin.close();
    }
  });

  it("refuses a record that pairs one plugin's private dir with another plugin's socket", async () => {
    const a = await launch("fake", { socketBaseDir: env.base, logger: silentLogger });
    const b = await launch("fake", { socketBaseDir: env.base, logger: silentLogger });
    try {
      await refusal(
        reattach({ ...a.record, address: b.record.address }),
        "untrusted-address",
        ["not directly inside the private directory"],
        [a.pid, b.pid],
      );
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("refuses a record naming pid 1 or the host itself", async () => {
    const plugin = await launch("fake", { socketBaseDir: env.base, logger: silentLogger });
    try {
      await refusal(reattach({ ...plugin.record, pid: 1 }), "bad-record", ["pid 1 cannot be a plugin's"], [plugin.pid]);
      await refusal(
        reattach({ ...plugin.record, pid: process.pid }),
        "bad-record",
        [`pid ${process.pid} cannot be a plugin's`],
        [plugin.pid],
      );
    } finally {
      await plugin.close();
    }
  });
});
