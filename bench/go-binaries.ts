// Builds the Go side of the interop bench offline from Debian's packages,
// the same way as the interop tests (test/interop/go-gopath.ts): Go stubs of
// driver.proto, then the bench host and the Go plugin in GOPATH mode. Output
// goes to .bench-tmp/go (ignored by git); Go's build cache there keeps rebuilds fast.
import { cp, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { goBuild, writeGoStubs } from "../test/interop/go-gopath.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const GO_SOURCES = join(ROOT, "bench", "go");

export interface GoBinaries {
  host: string;
  plugin: string;
}

/** Builds both binaries, or throws saying which tool or step failed. */
export async function buildGoBinaries(): Promise<GoBinaries> {
  const work = join(ROOT, ".bench-tmp", "go");
  const gopath = join(work, "gopath");
  const pkg = join(gopath, "src", "driverplug");
  await rm(pkg, { recursive: true, force: true });
  await mkdir(pkg, { recursive: true });
  await step("Go stubs (buf build, protoc)", () => writeGoStubs(ROOT, gopath, work));
  await cp(join(GO_SOURCES, "host"), join(pkg, "benchhost"), { recursive: true });
  await cp(join(GO_SOURCES, "plugin"), join(pkg, "benchplugin"), { recursive: true });
  const cache = join(work, "cache");
  const out: GoBinaries = { host: join(work, "bench-host"), plugin: join(work, "bench-plugin") };
  await step("go build (bench host)", () => goBuild(join(pkg, "benchhost"), out.host, gopath, cache));
  await step("go build (Go plugin)", () => goBuild(join(pkg, "benchplugin"), out.plugin, gopath, cache));
  return out;
}

async function step(what: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(
      `${what} failed: ${(e.stderr ?? "").trim() || e.message}; the Go interop bench needs Debian's Go toolchain, protoc and go-plugin: run test/interop/install-deps.sh (as root)`,
      { cause: err },
    );
  }
}
