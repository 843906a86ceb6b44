// `driverplug ssh` to a machine whose SSH server is behind a Unix socket
// (GetSSHInfo's unix_socket_path, which only the machine's owner can open):
// OpenSSH cannot connect to a Unix socket itself, so its ProxyCommand is a
// small Node program that joins ssh's stdin and stdout to the socket. The
// program is passed with `node -e`, so nothing but the running Node is needed.
//
// A socket that carries a virtio-serial port has no connection boundaries of
// its own: the guest learns that one client left and the next came only from
// the port's hang-up, and a slow guest can miss a hang-up followed quickly by
// a new connection (the driver's readiness probe, then the user's first ssh).
// The new client then meets the old SSH server, which already sent its
// banner: it would wait in silence, or hear stale bytes. So ssh's bytes go to
// the socket only after the server's "SSH-" banner has come back. A server
// that stays silent, or speaks anything else first, is dropped; the program
// reconnects after a pause long enough for the guest to see the hang-up and
// start a fresh server. It also waits while the socket's one connection is
// taken by another session, and says why when it cannot connect at all.

/** How long the program keeps trying, in all; ssh's ConnectTimeout for a socket must be longer. */
export const SOCKET_PATIENCE_MS = 120_000;
/** A fresh server's first silence tolerated, growing with each attempt (a booting guest can be slow). */
export const FIRST_SILENCE_MS = 8_000;

const program = (patienceMs: number, silenceMs: number) =>
  [
    'const net = require("net");',
    "const path = process.argv[1];",
    "const since = Date.now();",
    `const patience = ${patienceMs};`,
    "let attempt = 0;",
    // ssh gone: nothing more to say.
    'process.stdout.on("error", () => process.exit(0));',
    'const fail = (why) => { process.stderr.write("driverplug ssh: " + why + "\\n"); process.exit(255); };',
    "const again = (pause, why) => {",
    "  if (Date.now() - since + pause > patience)",
    '    fail("no SSH server answered on " + path + " within " + patience / 1000 + " s (" + why + ")");',
    "  setTimeout(open, pause);",
    "};",
    "const open = () => {",
    "  attempt += 1;",
    "  const s = net.connect(path);",
    "  let head = Buffer.alloc(0), up = false, over = false;",
    "  const drop = (why) => { if (over) return; over = true; clearTimeout(timer); s.destroy();",
    "    again(Math.min(1000 * 2 ** (attempt - 1), 8000), why); };",
    `  const timer = setTimeout(() => drop("it said nothing"), ${silenceMs} * attempt);`,
    "  const first = (chunk) => {",
    "    head = Buffer.concat([head, chunk]);",
    "    if (head.length < 4) return;",
    '    if (head.subarray(0, 4).toString("latin1") !== "SSH-") { drop("it spoke before its banner"); return; }',
    // The banner: from here on, both ways, each side's end passed on; the process ends once stdout has flushed.
    "    up = true; clearTimeout(timer);",
    '    s.removeListener("data", first);',
    "    process.stdout.write(head);",
    "    s.pipe(process.stdout);",
    "    process.stdin.pipe(s);",
    "  };",
    '  s.on("data", first);',
    '  s.on("close", () => { if (up) process.stdin.destroy(); else drop("it closed the connection"); });',
    '  s.on("error", (e) => {',
    '    if (!up && e.code === "EAGAIN") { if (!over) { over = true; clearTimeout(timer); again(200, "another session holds it"); } return; }',
    "    if (!up) { over = true; clearTimeout(timer); }",
    '    fail("cannot connect to " + path + ": " + e.message);',
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
export function proxyCommand(
  socketPath: string,
  node = process.execPath,
  timing: { patienceMs?: number; silenceMs?: number } = {},
): string {
  const text = program(timing.patienceMs ?? SOCKET_PATIENCE_MS, timing.silenceMs ?? FIRST_SILENCE_MS);
  return `${sq(node)} -e ${sq(text)} ${sq(socketPath)}`.replaceAll("%", "%%");
}
