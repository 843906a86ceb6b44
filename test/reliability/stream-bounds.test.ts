// What a same-user client can make a plugin hold: the reflection service
// reads a request only once its last answer is drained (a client that sends
// requests and never reads them stops itself by HTTP/2 flow control instead
// of growing the plugin), and a connection may hold at most
// MAX_CONCURRENT_STREAMS streams (the server's HTTP/2 SETTINGS say so).
import { connect as http2Connect, constants } from "node:http2";
import { connect as netConnect } from "node:net";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { launch, silentLogger, type PluginHandle } from "../../src/host/index.js";
import { MAX_CONCURRENT_STREAMS } from "../../src/plugin/serve.js";
import { makeHostTestEnv, type HostTestEnv } from "../host/host-test-env.js";
import { Figures } from "../security/figures.js";
import { frame, openSession, rawCall } from "../security/raw-grpc.js";

const figures = new Figures("stream-bounds");
afterAll(() => figures.print());

const REQUESTS = Number(process.env.FLOOD_REQUESTS ?? 500_000);
/** A ServerReflectionRequest with list_services (field 7) = "". */
const LIST_SERVICES = Buffer.from([0x3a, 0x00]);

let env: HostTestEnv;
let plugin: PluginHandle;
beforeEach(async () => {
  env = await makeHostTestEnv();
  plugin = await launch("fake", { socketBaseDir: env.base, logger: silentLogger });
});
afterEach(async () => {
  await plugin.close();
  await env.cleanup();
});

function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+([0-9]+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) / 1024;
}

describe("a client that floods the plugin", () => {
  it(`sends ${REQUESTS} reflection requests without reading: the plugin stays small and keeps answering`, async () => {
    await plugin.client.getInfo({});
    const session = await openSession(plugin.record.address);
    const path = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
    // One answered request first: the plugin loads its reflection data on first use, which is not the flood's cost.
    const warm = await rawCall(session, { path, body: frame(LIST_SERVICES) });
    expect(warm.bodyBytes).toBeGreaterThan(0);
    await sleep(500);
    const before = rssMiB(plugin.pid);
    const req = session.request({
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: path,
      "content-type": "application/grpc",
      te: "trailers",
    });
    req.on("error", () => {});
    // Never read the answers: the stream stays paused, so its receive window closes.
    req.pause();
    req.write(Buffer.concat(Array.from({ length: REQUESTS }, () => frame(LIST_SERVICES))));
    let peak = before;
    for (let i = 0; i < 24; i++) {
      await sleep(250);
      peak = Math.max(peak, rssMiB(plugin.pid));
    }
    const info = await plugin.client.getInfo({}, { timeoutMs: 30_000 });
    expect(info.driverName).toBe("fake");
    req.close();
    session.destroy();
    await plugin.client.getInfo({}, { timeoutMs: 30_000 });
    figures.set("reflectionRequests", REQUESTS);
    figures.set("pluginRssGrowthMiB", peak - before);
    expect(peak - before).toBeLessThan(48);
  });

  it(`tells clients the plugin takes at most ${MAX_CONCURRENT_STREAMS} streams per connection`, async () => {
    const session = http2Connect("http://localhost", { createConnection: () => netConnect(plugin.record.address) });
    try {
      const settings = await new Promise<{ maxConcurrentStreams?: number }>((resolve, reject) => {
        session.once("remoteSettings", resolve);
        session.once("error", reject);
      });
      figures.set("maxConcurrentStreams", settings.maxConcurrentStreams ?? -1);
      expect(settings.maxConcurrentStreams).toBe(MAX_CONCURRENT_STREAMS);
    } finally {
      session.destroy();
    }
  });
});
