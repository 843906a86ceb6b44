// What `npm pack` of a clean checkout ships: `prepack` builds it; the code,
// types, proto, docs, examples and LICENSE a user runs and reads are in it;
// nothing that only fits the packer's machine (V8 code caches) or points at
// files left out (every source map's sources are shipped). The packed size is
// printed, for the README's figure.
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../plugin/spawn-plugin.js";
import { packRepository, type PackedPackage } from "./packed-package.js";

let pkg: PackedPackage;
let paths: Set<string>;

beforeAll(async () => {
  pkg = await packRepository();
  paths = new Set(pkg.files.map((f) => f.path));
  process.stdout.write(
    `driverplug package: ${pkg.size} bytes packed (${(pkg.size / 1024).toFixed(0)} KiB), ` +
      `${pkg.unpackedSize} bytes unpacked (${(pkg.unpackedSize / 1024 / 1024).toFixed(1)} MiB), ${pkg.files.length} files\n`,
  );
}, 300_000);

afterAll(async () => {
  if (pkg) await rm(pkg.dir, { recursive: true, force: true });
});

describe("npm pack of a clean checkout", () => {
  it("builds in prepack: the compiled code, its types and the bundles are in the package", () => {
    for (const path of [
      "dist/src/index.js",
      "dist/src/index.d.ts",
      "dist/src/plugin/index.js",
      "dist/src/plugin/index.d.ts",
      "dist/src/host/index.js",
      "dist/src/host/index.d.ts",
      "dist/generated/driverplug/driver/v1/driver.js",
      "dist/bundle/driverplug.bundle.cjs",
      "dist/bundle/driverplug.cjs",
      "dist/bundle/driverplug-cli.bundle.cjs",
      "dist/bundle/driverplug-cli.cjs",
      "dist/bundle/driverplug-driver-fake.bundle.cjs",
      "dist/bundle/driverplug-driver-libvirt.bundle.cjs",
      "bin/driverplug",
      "bin/driverplug-driver-fake",
      "bin/driverplug-driver-libvirt",
      "scripts/bundle-plugin.mjs",
      "scripts/code-cache-runner.cjs",
    ])
      expect(paths, path).toContain(path);
  });

  it("ships what a user reads: LICENSE (Apache-2.0), README, SECURITY, docs, proto, examples, new-driver's templates", async () => {
    for (const path of [
      "LICENSE",
      "README.md",
      "SECURITY.md",
      "docs/protocol.md",
      "proto/driverplug/driver/v1/driver.proto",
      "examples/minimal-driver.ts",
      "examples/host.ts",
      "docs/guide.md",
      "templates/new-driver/src/driver.ts",
      "templates/new-driver/gitignore",
    ])
      expect(paths, path).toContain(path);
    const license = await readFile(join(REPO, "LICENSE"), "utf8");
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(license).toContain("END OF TERMS AND CONDITIONS");
    const manifest = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { license: string };
    expect(manifest.license).toBe("Apache-2.0");
  });

  it("ships no V8 code cache, no temp file and no bundle source map (they only fit the packer's machine)", () => {
    const foreign = [...paths].filter((p) => /\.v8cache$|\.tmp$|^dist\/bundle\/.*\.map$|tsbuildinfo|^test\//.test(p));
    expect(foreign).toEqual([]);
  });

  it("ships the source of every source map it ships", async () => {
    const maps = [...paths].filter((p) => p.endsWith(".map"));
    expect(maps.length).toBeGreaterThan(50);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources } = JSON.parse(await readFile(join(pkg.dir, "driverplug", map), "utf8")) as {
        sources: string[];
      };
      for (const source of sources) {
        const path = join(map, "..", source);
        if (!paths.has(path)) missing.push(`${map} -> ${path}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("keeps the executables executable", () => {
    for (const f of pkg.files.filter((f) => f.path.startsWith("bin/"))) expect(f.mode & 0o111, f.path).toBe(0o111);
  });

  it("has main and types beside exports, and every export's files are shipped", async () => {
    const manifest = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as {
      main: string;
      types: string;
      exports: Record<string, { types: string; default: string }>;
    };
    expect(manifest.main).toBe(manifest.exports["."]!.default);
    expect(manifest.types).toBe(manifest.exports["."]!.types);
    for (const entry of Object.values(manifest.exports))
      for (const file of [entry.types, entry.default]) expect(paths, file).toContain(file.replace(/^\.\//, ""));
  });

  // Most of it is the four code-cached bundles (the CLI, the fake, qemu and
  // libvirt drivers), about 300 kB each packed: each holds grpc-js and its
  // dependencies. 2.06 MB with warm plugins and GetMachineStates; the budget
  // leaves room for a little more, and a jump past it means something got in
  // that should not have.
  it("stays small: under 2.25 MB packed", () => {
    expect(pkg.size).toBeLessThan(2_250_000);
  });
});
