// What a plugin's answers can make the CLI hold or write: status details are
// cut to MAX_STATUS_DETAILS_BYTES in one place (a 100 KiB message made the
// call hang until its deadline, then fail with the wrong reason), a config is
// refused past MAX_CONFIG_DEPTH levels (a 10 KB config of nested arrays became
// a 24.5 MB config.json), create flags are capped in number and must not
// repeat or negate the CLI's own options, and `config get` reads own fields only.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { mkdir } from "node:fs/promises";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_CONFIG_DEPTH } from "../../src/cli/machine-session.js";
import { MAX_CREATE_FLAGS } from "../../src/cli/create-flags.js";
import { MAX_STATUS_DETAILS_BYTES } from "../../src/plugin/error-mapping.js";
import { expectOk, Sandbox } from "../cli/driverplug-process.js";
import { Figures } from "./figures.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/bounds-driver.mjs", import.meta.url));
const MODES = ["many-flags", "dup-flags", "negating-flag", "big-error", "deep-config"];
const figures = new Figures("plugin-bounds");
afterAll(() => figures.print());

let box: Sandbox;
let env: Record<string, string>;
beforeEach(async () => {
  box = await Sandbox.create();
  const plugins = join(box.root, "plugins");
  await mkdir(plugins, { mode: 0o700 });
  for (const mode of MODES) {
    await writeFile(
      join(plugins, `driverplug-driver-${mode}`),
      `#!/bin/sh\nexec "${process.execPath}" "${FIXTURE}" ${mode}\n`,
      {
        mode: 0o755,
      },
    );
  }
  env = { DRIVERPLUG_PLUGIN_DIRS: plugins };
});
afterEach(async () => {
  await box.dispose();
});

async function refused(args: string[], ...parts: string[]): Promise<string> {
  figures.add("cases");
  const started = Date.now();
  const r = await box.run(args, env);
  figures.set(`${args[2] ?? args[0]}Ms`, Date.now() - started);
  expect(r.code, `${args.join(" ")}: ${r.stdout}${r.stderr}`).toBeGreaterThan(0);
  for (const part of parts) expect(r.stderr).toContain(part);
  figures.add("refused");
  return r.stderr;
}

describe("bounds on what a plugin answers", () => {
  it(`refuses more than ${MAX_CREATE_FLAGS} create flags, a flag declared twice, and --no-config`, async () => {
    await refused(
      ["create", "--driver", "many-flags", "m1"],
      `declares 50000 create flags, more than the ${MAX_CREATE_FLAGS}`,
    );
    await refused(["create", "--driver", "dup-flags", "m1"], "declares the create flag --size twice");
    await refused(
      ["create", "--driver", "negating-flag", "m1"],
      "--no-config, which clashes with driverplug's own option",
    );
  });

  it(`cuts a 100 KiB status message to ${MAX_STATUS_DETAILS_BYTES} bytes, and the call fails at once with its own code`, async () => {
    await expectOk(box, ["create", "--driver", "big-error", "m1"], env);
    const stderr = await refused(["start", "m1"], "FAILED_PRECONDITION", "cannot start: xxx", "more bytes cut]");
    expect(stderr.length).toBeLessThan(MAX_STATUS_DETAILS_BYTES + 1024);
  });

  it(`refuses a config nested deeper than ${MAX_CONFIG_DEPTH} levels, and stores nothing`, async () => {
    await refused(["create", "--driver", "deep-config", "m1"], `nested deeper than ${MAX_CONFIG_DEPTH} levels`);
    expect(await box.machines()).toEqual([]);
  });

  it("`config get` reads own fields only: __proto__ is no field", async () => {
    await expectOk(box, ["create", "--driver", "fake", "m1"]);
    figures.add("cases");
    const r = await box.run(["config", "get", "m1", "__proto__"]);
    expect(r.code).toBeGreaterThan(0);
    expect(r.stderr).toContain('has no field "__proto__"');
    figures.add("refused");
  });
});
