// The driverplug executable's entry point (bin/driverplug runs its bundle):
// `status <machine>` on a warm plugin is answered here (fast-status.ts) in a
// bundle without grpc-js; every other command line, and a status the fast
// path declines, runs the full CLI's bundle (../main.ts), loaded only then,
// with its own code cache.
import { createRequire } from "node:module";
import { exitQuietlyOnEpipe } from "../quiet-epipe.js";
import { fastStatus } from "./fast-status.js";

/** The full CLI's runner, next to this bundle in dist/bundle/ (scripts/build-bundles.mjs). */
const FULL_CLI = "./driverplug-cli.cjs";

const argv = process.argv.slice(2);
void fastStatus(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env }, exitQuietlyOnEpipe).then(
  (code) => {
    // The answer is written (synchronously, to a file, pipe or terminal on Linux) and every handle is
    // closed: exit now rather than after Node's teardown.
    if (code !== undefined) process.exit(code);
    else createRequire(import.meta.url)(FULL_CLI);
  },
);
