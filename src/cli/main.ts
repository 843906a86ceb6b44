// The driverplug executable's entry point (bin/driverplug imports the
// compiled file): run the command line, exit with its code.
import { jsonArg, runCli } from "./run-cli.js";

// `driverplug ls | head -1` closes the pipe early: stop quietly, as other
// Unix tools do, instead of crashing with an EPIPE stack.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
    process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
  });
}

// Under --json stderr is one JSON object: Node's own warnings ("Warning: ...")
// are not printed beside it (runCli keeps those of its run in the object).
if (jsonArg(process.argv.slice(2))) process.removeAllListeners("warning");

// Not awaited: no top-level await, so bin/driverplug can run a CommonJS
// bundle with a V8 code cache (scripts/bundle-plugin.mjs).
void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
);
