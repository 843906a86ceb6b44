// Records a short conversation with a real libvirt daemon (qemu:///session of
// the user running it) as the RPC client's unit tests replay it: every record
// each way, in order, as hex, in test/fixtures/libvirt/session-records.json.
// Run after `make build`: node scripts/record-libvirt-packets.mjs
// The conversation: auth list, open, library version, a lookup of a missing
// domain (an error record), lifecycle event registration, define and
// undefine of a small domain (two event messages), close.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { LibvirtConnection } from "../dist/src/drivers/libvirt/rpc/connection.js";
import { proc } from "../dist/src/drivers/libvirt/rpc/procedures.js";
import { RecordSplitter } from "../dist/src/drivers/libvirt/rpc/record.js";
import { openUnixTransport } from "../dist/src/drivers/libvirt/rpc/unix-transport.js";

const out = fileURLToPath(new URL("../test/fixtures/libvirt/session-records.json", import.meta.url));
const records = [];
const note = (dir) =>
  new RecordSplitter(({ header, body }) => records.push({ dir, header, body: body.toString("hex") }));
const toDaemon = note("client");
const fromDaemon = note("daemon");

const transport = await openUnixTransport("session");
const write = transport.stream.write.bind(transport.stream);
transport.stream.write = (chunk, ...rest) => {
  toDaemon.push(Buffer.from(chunk));
  return write(chunk, ...rest);
};
transport.stream.prependListener("data", (chunk) => fromDaemon.push(Buffer.from(chunk)));

const c = new LibvirtConnection(transport, "qemu:///session");
await c.call(proc.authList, undefined);
await c.call(proc.connectOpen, { name: "qemu:///session", flags: 0 });
await c.call(proc.connectGetLibVersion, undefined);
await c.call(proc.domainLookupByName, { name: "driverplug-recorded-missing" }).catch(() => undefined);
const events = await c.lifecycleEvents();
const xml =
  "<domain type='qemu'><name>driverplug-recorded</name><uuid>0b6c1d40-5d7b-4f40-9d55-7a3c2b1e0f01</uuid>" +
  "<memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>";
const { dom } = await c.call(proc.domainDefineXmlFlags, { xml, flags: 0 });
await events.next();
await c.call(proc.domainUndefineFlags, { dom, flags: 0 });
await events.next();
await c.close();
const json = (r) => ({ dir: r.dir, header: r.header, body: r.body });
writeFileSync(
  out,
  `${JSON.stringify({ recordedWith: `libvirt 9.0.0 (Debian bookworm), qemu:///session as uid ${process.getuid()}`, records: records.map(json) }, null, 2)}\n`,
);
console.log(`${records.length} records -> ${out}`);
