// Makes text a plugin wrote safe to show on a terminal: every C0 control
// character but tab, DEL and every C1 control character (U+0080-U+009F, which
// some terminals take as 8-bit CSI/OSC) becomes a visible escape, so a plugin
// (or the hypervisor or cloud text an honest driver relays) can neither drive
// the terminal (OSC 0 titles, ESC[2J, OSC 8 links, OSC 52 clipboard writes)
// nor start a line of its own: "\n" becomes the two characters \n. As
// OpenSSH's strnvis and git's sideband filter do. The CLI and the default
// host logger pass everything plugin-originated through this one function.

const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\x1b": "\\e" };

export function printable(text: string): string {
  return text.replace(CONTROL, (c) => NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** For driverplug's own multi-line messages that quote plugin text: each line made printable, the line breaks kept. */
export function printableLines(text: string): string {
  return text.split("\n").map(printable).join("\n");
}
