// The process's real stdout and stderr writers, taken when this module loads,
// before stdio capture replaces process.stdout.write and process.stderr.write.
// Only the handshake uses stdout; only log lines use stderr.

const stdoutWrite = process.stdout.write.bind(process.stdout);
const stderrWrite = process.stderr.write.bind(process.stderr);

export function writeRawStdout(text: string): void {
  stdoutWrite(text);
}

export function writeRawStderr(text: string): void {
  stderrWrite(text);
}
