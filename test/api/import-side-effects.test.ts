// Importing driverplug changes nothing in the importing process. A host that
// imports the root entry (or driverplug/plugin, or driverplug/host) inside a
// process that another go-plugin host launched (PLUGIN_PROTOCOL_VERSIONS and
// a cookie in its environment) keeps its stdout: capture starts only in
// serve(), or with the explicit driverplug/plugin/capture-stdout import.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const dist = (entry: string) => fileURLToPath(new URL(`../../dist/src/${entry}`, import.meta.url));

/** Runs `imports` then writes a line to stdout, in a process launched as a go-plugin host launches one. */
async function stdoutAfterImporting(...imports: string[]): Promise<string> {
  const script = [
    ...imports.map((file) => `import ${JSON.stringify(dist(file))};`),
    'process.stdout.write("the host\'s own output\\n");',
  ].join("\n");
  const env = {
    PATH: process.env.PATH,
    PLUGIN_PROTOCOL_VERSIONS: "1",
    DRIVERPLUG_PLUGIN: "machine-driver",
    PLUGIN_UNIX_SOCKET_DIR: "/nonexistent",
  };
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { env });
  return stdout;
}

describe("importing driverplug", () => {
  it("leaves the stdout of a process a go-plugin host launched alone: root, plugin and host entries", async () => {
    expect(await stdoutAfterImporting("index.js")).toBe("the host's own output\n");
    expect(await stdoutAfterImporting("plugin/index.js")).toBe("the host's own output\n");
    expect(await stdoutAfterImporting("host/index.js", "conformance/index.js")).toBe("the host's own output\n");
  });

  it("captures it only through the explicit driverplug/plugin/capture-stdout import", async () => {
    expect(await stdoutAfterImporting("plugin/capture-stdout.js", "index.js")).toBe("");
  });
});
