// `driverplug ls | head -1` closes the pipe early: stop quietly, as other Unix
// tools do, instead of crashing with an EPIPE stack. Both CLI entries use it.
function onStreamError(err: NodeJS.ErrnoException): void {
  if (err.code !== "EPIPE") throw err;
  process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
}

export function exitQuietlyOnEpipe(): void {
  for (const stream of [process.stdout, process.stderr]) stream.on("error", onStreamError);
}
