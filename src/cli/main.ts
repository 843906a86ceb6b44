// The driverplug executable's entry point (bin/driverplug imports the
// compiled file): run the command line, exit with its code.
import { runCli } from "./run-cli.js";

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
