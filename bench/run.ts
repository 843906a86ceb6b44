// Entry of `make bench`: starts every contender's server in its own process,
// measures them side by side, prints the table and the target verdicts, and
// writes bench/results.json. Run compiled: node dist/bench/run.js
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir, availableParallelism } from "node:os";
import { join } from "node:path";
import { benchConfig } from "./config.js";
import { benchScript, startChildServer, type ChildServer } from "./child-server.js";
import { connectBare, type BareClient } from "./bare-client.js";
import { connectFloor, type FloorClient } from "./floor-client.js";
import { Results, writeResults } from "./results.js";
import { runUnary } from "./suites/unary.js";
import { runEcho, runInflight, runStream } from "./suites/throughput.js";

async function main(): Promise<void> {
  const config = benchConfig();
  const results = new Results();
  const dir = mkdtempSync(join(tmpdir(), "dpb-"));
  const servers: ChildServer[] = [];
  const clients: { close(): void }[] = [];
  const started = performance.now();
  try {
    const bareServer = await startChildServer(benchScript("servers/bare-grpc-server.js"), [`unix:${join(dir, "bare.sock")}`]);
    servers.push(bareServer);
    const bareTcpServer = await startChildServer(benchScript("servers/bare-grpc-server.js"), ["tcp"]);
    servers.push(bareTcpServer);
    const floorServer = await startChildServer(benchScript("servers/floor-server.js"), [join(dir, "floor.sock")]);
    servers.push(floorServer);

    const bare: BareClient = connectBare(bareServer.address);
    const bareTcp: BareClient = connectBare(bareTcpServer.address);
    const floor: FloorClient = await connectFloor(floorServer.address);
    clients.push(bare, bareTcp, floor);

    log("unary");
    await runUnary(
      [
        { name: "bare", call: bare.getState },
        { name: "floor", call: floor.call },
        { name: "bare_tcp", call: bareTcp.getState },
      ],
      config.unary,
      results,
    );
    log("64 in flight");
    await runInflight([{ name: "bare", call: bare.getState }], config.inflight, results);
    log("1 MiB echo");
    await runEcho([{ name: "bare_default", echo: bare.echo }], config.echo, results);
    log("server stream");
    await runStream([{ name: "bare", burst: bare.burst }], config.stream, results);
  } finally {
    for (const c of clients) c.close();
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(results.table());
  writeResults(results, { quick: config.quick, node: process.version, cores: availableParallelism(), seconds: Math.round(seconds), date: new Date().toISOString() });
}

function log(what: string): void {
  process.stderr.write(`bench: ${what}...\n`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
