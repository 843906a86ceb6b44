// A stand-in daemon that replays a conversation recorded from a real libvirtd
// (test/fixtures/libvirt/session-records.json, made by
// scripts/record-libvirt-packets.mjs): on a Unix socket in a temp dir, it
// checks each record the client sends against the recording, byte for byte,
// and answers with the daemon records that followed it. `dropAfter` closes
// the socket instead of answering the record with that serial, as a daemon
// that dies mid-call would.
import { readFileSync } from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeRecord, type Header, RecordSplitter } from "../../src/drivers/libvirt/rpc/record.js";

export interface Recorded {
  dir: "client" | "daemon";
  header: Header;
  body: Buffer;
}

export function recording(): Recorded[] {
  const path = new URL("../fixtures/libvirt/session-records.json", import.meta.url);
  const json = JSON.parse(readFileSync(path, "utf8")) as {
    records: Array<{ dir: "client" | "daemon"; header: Header; body: string }>;
  };
  return json.records.map((r) => ({ dir: r.dir, header: r.header, body: Buffer.from(r.body, "hex") }));
}

export interface ReplayDaemon {
  path: string;
  /** What went differently from the recording (empty when the client said exactly what was recorded). */
  mismatches: string[];
  close(): Promise<void>;
}

export async function replayDaemon(options: { dropAfter?: number } = {}): Promise<ReplayDaemon> {
  const records = recording();
  const dir = mkdtempSync(join(tmpdir(), "dp-lvr-"));
  const path = join(dir, "libvirt-sock");
  const mismatches: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let at = 0;
    const answer = () => {
      while (at < records.length && records[at]!.dir === "daemon") {
        const r = records[at++]!;
        socket.write(encodeRecord(r.header, r.body));
      }
    };
    const splitter = new RecordSplitter(({ header, body }) => {
      const expected = records[at];
      if (!expected || expected.dir !== "client") {
        mismatches.push(`unexpected record ${JSON.stringify(header)}`);
        return;
      }
      at++;
      if (JSON.stringify(header) !== JSON.stringify(expected.header) || !body.equals(expected.body)) {
        mismatches.push(
          `record ${at - 1}: sent ${JSON.stringify(header)} ${body.toString("hex")}, recorded ${JSON.stringify(expected.header)} ${expected.body.toString("hex")}`,
        );
      }
      if (options.dropAfter === header.serial) {
        socket.destroy();
        return;
      }
      answer();
    });
    socket.on("data", (chunk: Buffer) => splitter.push(chunk));
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    mismatches,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
