// The code blocks of README.md and docs/guide.md, run as they are, so they
// cannot rot. Every `ts` block is compiled, as a file of a project set up as
// the README's install section says (its tsconfig.json block, the package by
// name); a block that calls serve() is then run as a real plugin and driven
// through a machine's life by a host, and a block that calls launch() is run
// as a host script. A `sh` block whose every line is a driverplug command runs
// line by line against a temporary store; every driverplug line of any shell
// block (a real VM's, say) must name a command and flags its --help shows;
// other shell lines (make, npm) are the newcomer test's business (test/package).
import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonConfig, launch, State } from "../../src/host/index.js";
import { REPO } from "../plugin/spawn-plugin.js";

const exec = promisify(execFile);

interface Block {
  file: string;
  line: number;
  lang: string;
  code: string;
}

/** Fenced blocks with their language and the line they start on. */
function codeBlocks(file: string, text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    while (++i < lines.length && !lines[i]!.startsWith("```")) body.push(lines[i]!);
    blocks.push({ file, line: start + 1, lang: open[1]!, code: `${body.join("\n")}\n` });
  }
  return blocks;
}

const DOCS = ["README.md", "docs/guide.md"];
let blocks: Block[];
let dir: string;

const stem = (b: Block) => `${b.file.replace(/\W/g, "_")}_${b.line}`;
const isPlugin = (b: Block) => /\bserve\(/.test(b.code);
const isHost = (b: Block) => /\blaunch\(/.test(b.code);

beforeAll(async () => {
  blocks = [];
  for (const file of DOCS) blocks.push(...codeBlocks(file, await readFile(join(REPO, file), "utf8")));
  dir = await mkdtemp(join(tmpdir(), "dp-readme-"));
  // The package by name, as an installed dependency would be (the repository is its root).
  await mkdir(join(dir, "node_modules", "@types"), { recursive: true });
  await symlink(REPO, join(dir, "node_modules", "driverplug"));
  await symlink(join(REPO, "node_modules", "@types", "node"), join(dir, "node_modules", "@types", "node"));
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "readme", private: true, type: "module" }));
  const tsconfig = blocks.find((b) => b.lang === "json" && b.code.includes('"compilerOptions"'));
  if (!tsconfig) throw new Error("README.md has no tsconfig.json block in its install section");
  const config = JSON.parse(tsconfig.code) as { compilerOptions: Record<string, unknown> };
  const ts = blocks.filter((b) => b.lang === "ts");
  for (const b of ts) await writeFile(join(dir, `${stem(b)}.ts`), b.code);
  await writeFile(
    join(dir, "tsconfig.json"),
    JSON.stringify({ ...config, compilerOptions: { ...config.compilerOptions, outDir: "out" }, include: ["*.ts"] }),
  );
  // One compile for all blocks; each error names its block's file and line.
  await exec(join(REPO, "node_modules", ".bin", "tsc"), ["-p", dir]).catch((err: { stdout: string }) => {
    const located = err.stdout.replace(/(\w+_md)_(\d+)\.ts\((\d+),/g, (_m, f: string, start: string, l: string) => {
      return `${f.replace(/_md$/, ".md").replace(/_/g, "/")} block at line ${start} (its line ${l}),`;
    });
    throw new Error(`the docs' TypeScript blocks do not compile:\n${located}`, { cause: err });
  });
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the docs' code blocks", () => {
  it("have TypeScript blocks, and all of them compile with the README's tsconfig", () => {
    expect(blocks.filter((b) => b.lang === "ts").length).toBeGreaterThanOrEqual(3);
  });

  it("run: each driver block serves a machine's whole life to a real host", async () => {
    const plugins = blocks.filter((b) => b.lang === "ts" && isPlugin(b));
    expect(plugins.length).toBeGreaterThanOrEqual(1);
    for (const b of plugins) {
      const name = /serve\(\{[^}]*name: "([a-z0-9_-]+)"/s.exec(b.code)?.[1];
      expect(name, `${b.file}:${b.line} serves no literal name`).toBeDefined();
      const bin = join(dir, `bin-${stem(b)}`);
      await mkdir(bin);
      const exe = join(bin, `driverplug-driver-${name}`);
      await writeFile(exe, `#!/bin/sh\nexec node ${join(dir, "out", `${stem(b)}.js`)} "$@"\n`);
      await chmod(exe, 0o755);
      const storePath = await mkdtemp(join(dir, "machine-"));
      const plugin = await launch(name!, { pluginDirs: [bin] });
      try {
        const c = plugin.client;
        await c.setConfig({ configJson: jsonConfig().encode({ machineName: "m1", storePath }) });
        const steps: State[] = [];
        for await (const _ of c.create({})) void _;
        steps.push((await c.getState({})).state);
        for await (const _ of c.start({})) void _;
        steps.push((await c.getState({})).state);
        expect((await c.getIp({})).ip, `${b.file}:${b.line}`).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
        await c.stop({});
        steps.push((await c.getState({})).state);
        await c.remove({});
        expect(steps, `${b.file}:${b.line}`).toEqual([State.STATE_STOPPED, State.STATE_RUNNING, State.STATE_STOPPED]);
      } finally {
        await plugin.close();
      }
    }
  });

  it("run: each host block runs to its end against the real plugins", async () => {
    const hosts = blocks.filter((b) => b.lang === "ts" && isHost(b) && !isPlugin(b));
    expect(hosts.length).toBeGreaterThanOrEqual(1);
    for (const b of hosts) {
      const r = await exec(process.execPath, [join(dir, "out", `${stem(b)}.js`)], { cwd: dir }).catch(
        (err: { stderr: string }) => {
          throw new Error(`${b.file}:${b.line} failed:\n${err.stderr}`, { cause: err });
        },
      );
      expect(r.stdout, `${b.file}:${b.line}`).not.toBe("");
    }
  });

  it("run: every shell block of driverplug commands succeeds line by line", async () => {
    const commandBlocks = blocks.filter(
      (b) =>
        b.lang === "sh" &&
        commandLines(b).length > 0 &&
        commandLines(b).every((l) => /^(\.\/bin\/driverplug|driverplug|npx driverplug) /.test(l)),
    );
    expect(commandBlocks.length).toBeGreaterThanOrEqual(1);
    for (const b of commandBlocks) {
      const store = await mkdtemp(join(dir, "store-"));
      for (const line of commandLines(b)) {
        const args = line.replace(/^(\.\/bin\/driverplug|npx driverplug|driverplug) /, "").split(/\s+/);
        const r = await exec(join(REPO, "bin", "driverplug"), args, {
          cwd: REPO,
          env: { ...process.env, DRIVERPLUG_STORE: store },
        }).catch((err: { stderr: string }) => {
          throw new Error(`${b.file}:${b.line}: ${line} failed:\n${err.stderr}`, { cause: err });
        });
        expect(r.stdout, `${b.file}:${b.line}: ${line}`).not.toBe("");
      }
    }
  });
  it("name real commands and flags: every driverplug line of every shell block, the ones not run too", async () => {
    const lines = blocks
      .filter((b) => b.lang === "sh")
      .flatMap((b) => commandLines(b).map((line) => ({ b, line })))
      .filter(({ line }) => DRIVERPLUG_LINE.test(line));
    const checked = new Map<string, string>();
    let flags = 0;
    for (const { b, line } of lines) {
      const words = line.replace(DRIVERPLUG_LINE, "").split(/\s+/);
      const end = words.indexOf("--");
      const options = (end < 0 ? words : words.slice(0, end)).filter((w) => w.startsWith("--"));
      // A driver's own create flags are in `create --driver <name> --help`.
      const at = words.indexOf("--driver");
      const driver = words[0] === "create" && at > 0 ? words[at + 1] : undefined;
      const helpArgs = [words[0]!, ...(driver ? ["--driver", driver] : []), "--help"];
      const key = helpArgs.join(" ");
      if (!checked.has(key)) {
        const r = await exec(join(REPO, "bin", "driverplug"), helpArgs, { cwd: REPO }).catch(
          (err: { stderr: string }) => {
            throw new Error(`${b.file}:${b.line}: ${line}: driverplug ${key} failed:\n${err.stderr}`, { cause: err });
          },
        );
        checked.set(key, r.stdout);
      }
      for (const option of options) {
        flags++;
        const name = option.split("=")[0]!;
        expect(checked.get(key), `${b.file}:${b.line}: ${line}: ${name} is not in driverplug ${key}`).toMatch(
          new RegExp(`(^|\\s)${name.replace(/[-]/g, "\\-")}[\\s,]`),
        );
      }
    }
    expect(lines.length).toBeGreaterThanOrEqual(10);
    expect(flags).toBeGreaterThanOrEqual(5);
    // A dozen CLI starts, each a few seconds on a loaded 2-core machine.
  }, 300_000);
});

const DRIVERPLUG_LINE = /^(\.\/bin\/driverplug|npx driverplug|driverplug) /;

/** The commands of a shell block: comments and blank lines dropped. */
function commandLines(b: Block): string[] {
  return b.code
    .split("\n")
    .map((l) => l.replace(/\s+#.*$/, "").trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}
