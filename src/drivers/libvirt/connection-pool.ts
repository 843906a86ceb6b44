// One libvirt connection per URI for the whole plugin: every machine of a
// store on the same URI shares it (CAPABILITY_MACHINE_INSTANCES makes one
// plugin serve them all). A connection that ended is replaced on the next
// use. For qemu+ssh URIs the connection's ssh checks the host key against
// the known_hosts of the machine that opened it; every other machine's own
// pin must agree with it (a machine with no pin yet takes it: first use
// accepts), so each machine keeps its own record of the key it trusts.
import { promises as fs } from "node:fs";
import { failedPrecondition } from "../../plugin/index.js";
import { LibvirtConnection } from "./rpc/connection.js";
import { type LibvirtUri, parseLibvirtUri } from "./rpc/connection-uri.js";

interface Entry {
  connection: Promise<LibvirtConnection>;
  /** The known_hosts file the connection's ssh used. */
  pinFile: string | undefined;
}

const pinLines = (text: string) =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .sort();

export class ConnectionPool {
  private readonly entries = new Map<string, Entry>();
  /** URIs as the machines' configs spell them, parsed once (GetState passes here on every call). */
  private readonly parsed = new Map<string, LibvirtUri>();

  /** The live connection for `uri`, opened (or reopened) as needed. `pinFile`: the machine's known_hosts. */
  async get(uriText: string, pinFile: string, signal?: AbortSignal): Promise<LibvirtConnection> {
    let uri = this.parsed.get(uriText);
    if (!uri) {
      uri = parseLibvirtUri(uriText);
      this.parsed.set(uriText, uri);
    }
    let entry = this.entries.get(uri.text);
    if (entry) {
      const connection = await entry.connection.catch(() => undefined);
      if (!connection || connection.isClosed) {
        this.entries.delete(uri.text);
        entry = undefined;
      }
    }
    if (!entry) {
      entry = { connection: this.open(uri, pinFile, signal), pinFile: uri.kind === "ssh" ? pinFile : undefined };
      this.entries.set(uri.text, entry);
      entry.connection.catch(() => {
        if (this.entries.get(uri.text) === entry) this.entries.delete(uri.text);
      });
    }
    const connection = await entry.connection;
    if (entry.pinFile && entry.pinFile !== pinFile) await adoptPin(uri, entry.pinFile, pinFile);
    return connection;
  }

  private async open(uri: LibvirtUri, pinFile: string, signal?: AbortSignal): Promise<LibvirtConnection> {
    return LibvirtConnection.open(uri, { knownHostsFile: pinFile, ...(signal ? { signal } : {}) });
  }

  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map(async (e) => (await e.connection.catch(() => undefined))?.close()));
  }
}

/** A machine's pin must hold what the shared connection verified; an empty one takes it. */
async function adoptPin(uri: LibvirtUri, verified: string, mine: string): Promise<void> {
  const theirs = pinLines(await fs.readFile(verified, "utf8").catch(() => ""));
  const own = await fs.readFile(mine, "utf8").catch(() => undefined);
  if (own === undefined || pinLines(own).length === 0) {
    await fs.writeFile(mine, theirs.join("\n") + "\n", { mode: 0o600 });
    return;
  }
  const ownLines = new Set(pinLines(own));
  if (theirs.every((l) => ownLines.has(l))) return;
  const host = uri.kind === "ssh" ? uri.host : "the host";
  throw failedPrecondition(
    `the SSH host key of ${host} is not the one pinned for this machine in ${mine}: refusing to use it. ` +
      `If the host's key changed on purpose, check the new key (ssh-keyscan) and remove the old line from that file`,
  );
}
