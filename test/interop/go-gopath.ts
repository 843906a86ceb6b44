// The offline Go build both the interop tests and the Go bench use: Go stubs
// of driver.proto in a private GOPATH (buf builds a descriptor set Debian's
// protoc 3.21 can read; Debian's protoc-gen-go 1.3 with the grpc plugin
// writes the stubs), then `go build` in GOPATH mode against Debian's
// /usr/share/gocode, with no module downloads.
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const GOPATH_DEBIAN = "/usr/share/gocode";

/**
 * Writes the driver contract's Go stubs under `<gopath>/src/driverplug/driverv1`.
 * `repo`: the checkout (its proto/ and node_modules/.bin/buf); callers pass it,
 * since this file also runs compiled from dist/.
 */
export async function writeGoStubs(repo: string, gopath: string, scratch: string): Promise<void> {
  await fs.mkdir(join(gopath, "src"), { recursive: true });
  const descriptors = join(scratch, "protos.binpb");
  await run(join(repo, "node_modules/.bin/buf"), ["build", join(repo, "proto"), "-o", descriptors]);
  try {
    // protoc-gen-go 1.3 writes to <out>/<go_package>: src/driverplug/driverv1.
    // driver.proto's RPC options extend descriptor.proto, whose go_package
    // (descriptorpb) Debian's Go 1.3 tree has under its older path.
    await run("/usr/bin/protoc", [
      `--descriptor_set_in=${descriptors}`,
      `--go_out=plugins=grpc,Mgoogle/protobuf/descriptor.proto=github.com/golang/protobuf/protoc-gen-go/descriptor:${join(gopath, "src")}`,
      "driverplug/driver/v1/driver.proto",
    ]);
  } finally {
    await fs.rm(descriptors, { force: true });
  }
}

/** `go build -o out .` in `pkgDir`, GOPATH mode, offline; GOCACHE keeps rebuilds fast. */
export async function goBuild(pkgDir: string, out: string, gopath: string, gocache: string): Promise<void> {
  await run("go", ["build", "-o", out, "."], {
    cwd: pkgDir,
    env: {
      ...process.env,
      GO111MODULE: "off",
      GOPATH: `${gopath}:${GOPATH_DEBIAN}`,
      GOPROXY: "off",
      GOFLAGS: "",
      GOCACHE: gocache,
    },
    maxBuffer: 16 * 1024 * 1024,
  });
}
