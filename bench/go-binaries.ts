// Builds the Go side of the interop bench offline from Debian's packages:
// Go stubs of driver.proto (buf builds a descriptor set that Debian's protoc
// 3.21 can read, protoc-gen-go 1.3 with the grpc plugin writes the stubs),
// then the bench host and the Go plugin in GOPATH mode. Output goes to
// .bench-tmp/go (ignored by git); Go's build cache there keeps rebuilds fast.
import { execFile } from "node:child_process";
import { cp, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
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
  const descriptors = join(work, "driver.binpb");
  await step("buf build", join(ROOT, "node_modules", ".bin", "buf"), ["build", "-o", descriptors], ROOT);
  await step("protoc (Go stubs)", "protoc", [`--descriptor_set_in=${descriptors}`, `--go_out=plugins=grpc:${join(gopath, "src")}`, "driverplug/driver/v1/driver.proto"], ROOT);
  await cp(join(GO_SOURCES, "host"), join(pkg, "benchhost"), { recursive: true });
  await cp(join(GO_SOURCES, "plugin"), join(pkg, "benchplugin"), { recursive: true });
  const env = { ...process.env, GO111MODULE: "off", GOPATH: `${gopath}:/usr/share/gocode`, GOPROXY: "off", GOCACHE: join(work, "cache"), GOFLAGS: "" };
  const out: GoBinaries = { host: join(work, "bench-host"), plugin: join(work, "bench-plugin") };
  await step("go build (bench host)", "go", ["build", "-o", out.host, "./benchhost"], pkg, env);
  await step("go build (Go plugin)", "go", ["build", "-o", out.plugin, "./benchplugin"], pkg, env);
  return out;
}

async function step(what: string, file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    await run(file, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${what} failed: ${(e.stderr ?? "").trim() || e.message}; the Go interop bench needs Debian's Go toolchain, protoc and go-plugin: run test/interop/install-deps.sh (as root)`);
  }
}
