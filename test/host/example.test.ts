// examples/host.ts runs as documented (compiled: make build first).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./host-test-env.js";

describe("examples/host.ts", () => {
  it("drives the fake driver through create, start, stop and remove, and exits 0", async () => {
    const child = spawn(process.execPath, [join(REPO_ROOT, "dist", "examples", "host.js")], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.resume();
    const [code] = (await once(child, "exit")) as [number];
    expect(code).toBe(0);
    expect(out).toContain('100% Machine "m1" created');
    expect(out).toContain("state after start: STATE_RUNNING");
    expect(out).toContain("state after stop: STATE_STOPPED");
    expect(out).toContain("GetIP says NOT_FOUND");
    expect(out).toContain("driverplug status would say: Stopped");
  });
});
