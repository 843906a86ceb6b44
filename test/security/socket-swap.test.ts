// The socket is checked once, at the handshake, but grpc-js connects again
// whenever a connection ends. A plugin (or anyone of its user) that replaces
// its socket with a symlink to another socket after the check must not get
// the host's next call answered there: the host connects through an O_PATH
// descriptor of the socket it checked, so every new connection reaches that
// same socket, whatever the path names later.
import { rename, symlink } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { launchFixture } from "../host/fixture-launch.js";
import { makeHostTestEnv, type HostTestEnv } from "../host/host-test-env.js";
import { Figures } from "./figures.js";

const figures = new Figures("socket-swap");
afterAll(() => figures.print());

let env: HostTestEnv;
beforeEach(async () => {
  env = await makeHostTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});

describe("a socket swapped after the handshake", () => {
  it("a reconnect still reaches the checked socket, not the decoy the path now names", async () => {
    // The real plugin ends each connection after 300 ms, so the host reconnects.
    const real = await launchFixture(env, "aging", { env: { FIXTURE_SCRATCH: env.scratch, FIXTURE_IP: "10.0.0.1" } });
    const decoy = await launchFixture(env, "serve", { env: { FIXTURE_SCRATCH: env.scratch, FIXTURE_IP: "10.6.6.6" } });
    try {
      expect((await real.client.getIp({})).ip).toBe("10.0.0.1");
      await rename(real.record.address, `${real.record.address}.moved`);
      await symlink(decoy.record.address, real.record.address);
      const answers: string[] = [];
      for (let i = 0; i < 5; i++) {
        await sleep(500);
        answers.push((await real.client.getIp({}, { timeoutMs: 10_000 })).ip);
      }
      figures.set("callsAfterSwap", answers.length);
      figures.set("answeredByDecoy", answers.filter((a) => a === "10.6.6.6").length);
      expect(answers).toEqual(Array(5).fill("10.0.0.1"));
    } finally {
      await Promise.all([real.close(), decoy.close()]);
    }
  });
});
