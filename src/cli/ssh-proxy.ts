// `driverplug ssh` to a machine whose SSH server is behind a Unix socket
// (GetSSHInfo's unix_socket_path, which only the machine's owner can open):
// OpenSSH cannot connect to a Unix socket itself, so its ProxyCommand is a
// small Node program that joins ssh's stdin and stdout to the socket. It
// waits (up to a minute) while the socket's one connection is taken by
// another session, and says why when it cannot connect at all. The program
// is passed with `node -e`, so nothing but the running Node is needed.
const PROGRAM = [
  'const net = require("net");',
  "const path = process.argv[1];",
  "const since = Date.now();",
  // ssh gone: nothing more to say.
  'process.stdout.on("error", () => process.exit(0));',
  "const open = () => {",
  "  const s = net.connect(path);",
  // Both ways, each side's end passed on; the process ends once stdout has flushed.
  "  let up = false;",
  '  s.on("connect", () => { up = true; process.stdin.pipe(s); s.pipe(process.stdout); });',
  '  s.on("close", () => { if (up) process.stdin.destroy(); });',
  '  s.on("error", (e) => {',
  '    if (e.code === "EAGAIN" && Date.now() - since < 60000) { setTimeout(open, 200); return; }',
  '    process.stderr.write("driverplug ssh: cannot connect to " + path + ": " + e.message + "\\n");',
  "    process.exit(255);",
  "  });",
  "};",
  "open();",
].join(" ");

/** Single-quoted for a POSIX shell. */
const sq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * OpenSSH's ProxyCommand for a socket: ssh runs it as `exec <command>` with $SHELL (the caller sets SHELL
 * for ssh), with ssh's %-tokens escaped.
 */
export function proxyCommand(socketPath: string, node = process.execPath): string {
  return `${sq(node)} -e ${sq(PROGRAM)} ${sq(socketPath)}`.replaceAll("%", "%%");
}
