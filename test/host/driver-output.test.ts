// What a driver writes reaches the host readably through the default logger:
// a console.log at the driver module's top level (before serve() is called)
// neither breaks the handshake nor is lost, console.error's text and stack
// arrive as a warning, and a log record's fields (an `error` with its stack)
// are shown, on continuation lines where they span several.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launch, stderrLogger, type HostLogRecord } from "../../src/host/index.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/plugins/api-driver.mjs", import.meta.url));

let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "dp-out-"));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe("driver output through the host's default logger", () => {
  it("shows top-level stdout, console.error and a record's fields, in order", async () => {
    let text = "";
    const records: HostLogRecord[] = [];
    const shown = stderrLogger({ write: (t) => (text += t) });
    const plugin = await launch("api", {
      executable: process.execPath,
      args: [FIXTURE, "chatty"],
      socketBaseDir: base,
      logger: {
        log(r) {
          records.push(r);
          shown.log(r);
        },
      },
    });
    try {
      expect(await plugin.client.getIp({})).toEqual({ ip: "192.0.2.3" });
      await expect.poll(() => records.some((r) => r.message === "cannot read the lease file")).toBe(true);
    } finally {
      await plugin.close();
    }
    const lines = text.split("\n");
    const top = lines.indexOf("[api api.stdio] INFO hello from the top level");
    const consoleError = lines.indexOf("[api api.stdio] WARN Error: disk full");
    const logged = lines.indexOf('[api api] ERROR cannot read the lease file path="/var/lib/x y"');
    expect(top).toBeGreaterThanOrEqual(0);
    expect(consoleError).toBeGreaterThan(top);
    expect(logged).toBeGreaterThan(consoleError);
    // console.error's stack, then the error field's, on continuation lines.
    expect(lines[consoleError + 1]).toMatch(/^ {2}\| +at /);
    expect(lines[logged + 1]).toBe("  | error=Error: EACCES: lease");
    expect(lines[logged + 2]).toMatch(/^ {2}\| +at .*api-driver\.mjs/);
  });
});
