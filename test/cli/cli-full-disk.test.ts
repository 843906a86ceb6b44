// A machine store on a full disk: a 2 MiB tmpfs mounted for the test (the
// tests run as root) and filled to the last block. Every command that needs
// room fails with a sentence saying the disk is full and what to do, never
// "unexpected error"; `rm` still removes a stopped machine (so the user can
// free space with driverplug); no file handle is left to the garbage
// collector; and nothing already stored is lost or left half-written.
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { Figures } from "../security/figures.js";
import { expectOk, Sandbox } from "./driverplug-process.js";

const exec = promisify(execFile);
const figures = new Figures("full-disk");
afterAll(() => figures.print());

let box: Sandbox;
let mount: string;
let env: Record<string, string>;

beforeEach(async () => {
  box = await Sandbox.create();
  mount = await mkdtemp(join(tmpdir(), "dp-full-"));
  await exec("mount", ["-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", mount]).catch((err: Error) => {
    throw new Error(`mounting a tmpfs for the full-disk test needs root (mount -t tmpfs): ${err.message}`);
  });
  env = { DRIVERPLUG_STORE: join(mount, "store") };
});
afterEach(async () => {
  // Lazy: a process of a failed test may still hold a file there; it is gone from the tree at once.
  await exec("umount", ["-l", mount]).catch(() => undefined);
  await rm(mount, { recursive: true, force: true });
  await box.dispose();
});

/** Writes a file until the file system has no block left. */
async function fill(dir: string): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024);
  const file = join(dir, "filler");
  for (let i = 0; ; i++) {
    try {
      await writeFile(file, chunk, { flag: "a" });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOSPC") break;
      throw err;
    }
    if (i > 1000) throw new Error("the tmpfs never filled up");
  }
  // The last, partial block: byte by byte until that fails too.
  for (;;) {
    try {
      await writeFile(file, Buffer.alloc(1), { flag: "a" });
    } catch {
      return;
    }
  }
}

async function storeFiles(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, rel: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(dir, e.name), `${rel}${e.name}/`);
      else out.push(`${rel}${e.name}`);
    }
  };
  await walk(join(mount, "store"), "");
  return out.sort();
}

describe("a full disk", () => {
  it("gets a clear error from every command that needs room, loses nothing, and rm still frees space", async () => {
    await expectOk(box, ["create", "--driver", "fake", "m1"], env);
    await expectOk(box, ["create", "--driver", "fake", "m2"], env);
    await expectOk(box, ["start", "m2"], env);
    const m2Config = join(mount, "store", "machines", "m2", "config.json");
    const before = await readFile(m2Config, "utf8");
    const filesBefore = await storeFiles();
    await fill(mount);

    const commands: [string[], number][] = [
      [["create", "--driver", "fake", "m3"], 5],
      [["start", "m1"], 5],
      [["stop", "m2"], 5],
      [["kill", "m2"], 5],
      [["restart", "m2"], 5],
      [["config", "set", "m2", "cpus", "3"], 4],
    ];
    for (const [args, code] of commands) {
      figures.add("commands");
      const r = await box.run(args, env);
      const what = `driverplug ${args.join(" ")}: ${r.stderr}`;
      expect(r.code, what).toBe(code);
      expect(r.stderr, what).not.toMatch(/^driverplug: unexpected error|please report it/m);
      expect(r.stderr, what).not.toMatch(/\(node:\d+\)|garbage collection/);
      if (code === 5) expect(r.stderr, what).toContain("(the disk is full: free some space and try again");
      figures.add("clearErrors");
    }
    // A change the driver accepts but the store has no room for: the CLI's own full-disk error.
    const json = await box.run(["config", "set", "m1", "cpus", "3", "--json"], env);
    expect(json.code, json.stderr).toBe(7);
    expect(JSON.parse(json.stderr)).toMatchObject({
      error: {
        code: "RESOURCE_EXHAUSTED",
        exitCode: 7,
        message: expect.stringMatching(/^no space is left on the disk .*\(ENOSPC\); nothing half-written was kept$/),
        hint: expect.stringContaining("driverplug rm <machine>"),
      },
    });

    // Nothing stored was lost or torn, no temp file or lock was left.
    expect(await readFile(m2Config, "utf8")).toBe(before);
    expect(await storeFiles()).toEqual(filesBefore);

    // rm works on the full disk, and frees room for the next command.
    const removed = await box.run(["rm", "m1"], env);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stderr).not.toMatch(/\(node:\d+\)/);
    figures.add("rmWorked");
    expect((await storeFiles()).filter((f) => f.startsWith("machines/m1/"))).toEqual([]);
    expect(await readdir(join(mount, "store", "locks"))).toEqual([]);
  }, 180_000);
});
