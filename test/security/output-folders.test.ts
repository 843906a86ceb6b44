// The folders `driverplug new-driver --dir` and `driverplug bundle` write into
// hold files the user runs later (npm scripts, a plugin executable). Another
// local user (uid 65534, a real process) who made the folder or can write it
// races to swap package.json for a symlink to the victim's shell rc file: the
// folder is refused, nothing is written there, and the victim's file is as it
// was. A folder only the user can write works, with every file created new;
// `--dir <a file>` is a usage error that says so.
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { REPO } from "../plugin/spawn-plugin.js";
import { Sandbox } from "../cli/driverplug-process.js";
import { Figures } from "./figures.js";
import { OTHER_UID, runAsOtherUser } from "./other-user.js";

const figures = new Figures("output-folders");
afterAll(() => figures.print());

const ENTRY = join(REPO, "test", "build", "fixtures", "tiny-driver.ts");

let box: Sandbox;
/** A folder everyone may traverse, with a sticky world-writable `shared` in it (as /tmp is). */
let open: string;
let shared: string;
/** The victim's file the attacker aims at. */
let victim: string;
const VICTIM_TEXT = "# the victim's own shell settings\n";

beforeEach(async () => {
  box = await Sandbox.create();
  open = await mkdtemp(join(tmpdir(), "dp-open-"));
  await chmod(open, 0o755);
  shared = join(open, "shared");
  await mkdir(shared);
  await chmod(shared, 0o1777);
  victim = join(box.root, ".bashrc");
  await writeFile(victim, VICTIM_TEXT, { mode: 0o644 });
});
afterEach(async () => {
  await rm(open, { recursive: true, force: true });
  await box.dispose();
});

interface RaceResult {
  swaps: number;
}

/**
 * As uid 65534: makes `dir` (0777), then for `ms` replaces every file named
 * `name` that appears in it with a symlink to the victim's file.
 */
function attacker(
  dir: string,
  names: readonly string[],
  ms: number,
): { ready: Promise<void>; done: Promise<RaceResult> } {
  const readyFile = join(shared, `.ready-${process.pid}-${Date.now()}`);
  const done = runAsOtherUser<RaceResult>(
    `
    import { chmodSync, lstatSync, mkdirSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
    const dir = ${JSON.stringify(dir)};
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
    writeFileSync(${JSON.stringify(readyFile)}, "");
    const names = ${JSON.stringify(names)};
    let swaps = 0;
    const end = Date.now() + ${ms};
    while (Date.now() < end) {
      for (const name of names) {
        const path = dir + "/" + name;
        try {
          if (!lstatSync(path).isSymbolicLink()) { unlinkSync(path); symlinkSync(${JSON.stringify(victim)}, path); swaps++; }
        } catch {}
      }
    }
    console.log(JSON.stringify({ swaps }));
  `,
    ms + 10_000,
  );
  const ready = (async () => {
    for (;;) {
      if (
        await stat(readyFile).then(
          () => true,
          () => false,
        )
      )
        return;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return { ready, done };
}

async function refused(args: string[], parts: string[]): Promise<void> {
  figures.add("cases");
  const r = await box.run(args);
  expect(r.code, `driverplug ${args.join(" ")} was accepted: ${r.stdout}${r.stderr}`).toBe(4);
  for (const part of parts) expect(r.stderr).toContain(part);
  expect(r.stderr.split("\n").filter((l) => l !== "")).toHaveLength(1);
  figures.add("refused");
}

describe("new-driver --dir", () => {
  it("refuses an empty folder another user made, while that user races to plant symlinks; the victim's file is untouched", async () => {
    const dir = join(shared, "proj");
    const race = attacker(dir, ["package.json", "README.md", "tsconfig.json"], 3000);
    await race.ready;
    await refused(["new-driver", "mini", "--dir", dir], [`project folder ${dir} belongs to uid ${OTHER_UID}`]);
    const { swaps } = await race.done;
    figures.add("raceSwaps", swaps);
    expect(await readdir(dir)).toEqual([]);
    expect(await readFile(victim, "utf8")).toBe(VICTIM_TEXT);
    expect((await stat(victim)).mode & 0o777).toBe(0o644);
  });

  it("refuses a folder of the user's that others can write, and one under a non-sticky open ancestor", async () => {
    const wide = join(box.root, "wide");
    await mkdir(wide);
    await chmod(wide, 0o777);
    await refused(["new-driver", "mini", "--dir", wide], [`project folder ${wide} has mode 0777`, "chmod go-w"]);
    await chmod(wide, 0o775);
    await refused(["new-driver", "mini", "--dir", wide], [`has mode 0775`]);
    await chmod(wide, 0o777);
    const under = join(wide, "proj");
    await refused(["new-driver", "mini", "--dir", under], [`ancestor ${wide}`]);
    // The folder it made for the refused run is gone again.
    expect(await readdir(wide)).toEqual([]);
  });

  it("says --dir <a file> is not a folder, as a usage error", async () => {
    const file = join(box.root, "notes.txt");
    await writeFile(file, "x");
    for (const dir of [file, join(file, "sub")]) {
      const r = await box.run(["new-driver", "mini", "--dir", dir]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `driverplug: project folder ${dir} is not a folder (it or a parent is a file): give a folder (the --dir of new-driver)\n`,
      );
    }
    expect(await readFile(file, "utf8")).toBe("x");
  });

  it("writes a project into a folder of the user's own, every file new", async () => {
    const dir = join(box.root, "proj");
    const r = await box.run(["new-driver", "mini", "--dir", dir]);
    expect(r.code, r.stderr).toBe(0);
    expect((await readdir(dir)).sort()).toEqual([
      ".gitignore",
      "README.md",
      "bin",
      "package.json",
      "src",
      "test",
      "tsconfig.json",
    ]);
    expect((await stat(join(dir, "bin", "driverplug-driver-mini"))).mode & 0o111).toBe(0o111);
  });
});

describe("bundle <entry> <out>", () => {
  it("refuses an output folder another user made, while that user plants symlinks; the victim's file is untouched", async () => {
    const dir = join(shared, "plugins");
    const out = join(dir, "driverplug-driver-tiny");
    const names = ["", ".cjs", ".bundle.cjs", ".bundle.cjs.map"].map((ext) => `driverplug-driver-tiny${ext}`);
    const race = attacker(dir, names, 3000);
    await race.ready;
    await refused(["bundle", "--no-cache", ENTRY, out], [`bundle: output folder ${dir} belongs to uid ${OTHER_UID}`]);
    const { swaps } = await race.done;
    figures.add("raceSwaps", swaps);
    expect(await readdir(dir)).toEqual([]);
    expect(await readFile(victim, "utf8")).toBe(VICTIM_TEXT);
    expect((await stat(victim)).mode & 0o777).toBe(0o644);
  });

  it("refuses an output folder of the user's that others can write", async () => {
    const dir = join(box.root, "plugins");
    await mkdir(dir);
    await chmod(dir, 0o777);
    await refused(["bundle", "--no-cache", ENTRY, join(dir, "driverplug-driver-tiny")], [`has mode 0777`]);
    expect(await readdir(dir)).toEqual([]);
  });

  it("writes through the atomic writer: no pid-named temp file, nothing left but the plugin's files", async () => {
    const dir = join(box.root, "plugins");
    const r = await box.run(["bundle", "--no-cache", ENTRY, join(dir, "driverplug-driver-tiny")]);
    expect(r.code, r.stderr).toBe(0);
    expect((await readdir(dir)).sort()).toEqual([
      "driverplug-driver-tiny",
      "driverplug-driver-tiny.bundle.cjs",
      "driverplug-driver-tiny.bundle.cjs.map",
      "driverplug-driver-tiny.cjs",
    ]);
  });
});
