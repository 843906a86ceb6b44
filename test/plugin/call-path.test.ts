// The plugin's per-call path (service-adapter, call-context, mutation-queue)
// on a real grpc-js server and client over a Unix socket: a handler's signal
// fires on the client's cancel and on the deadline although the plugin keeps
// no timer and no listener of its own for calls that never look; Kill answers
// a pre-empted call at once even if its handler ignores the signal, and the
// queue still runs mutating calls one at a time, in order.
import { credentials, Metadata, Server, ServerCredentials, status, type ServiceError } from "@grpc/grpc-js";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DriverServiceClient, DriverServiceService, State } from "../../generated/driverplug/driver/v1/driver.js";
import { DriverError } from "../../src/plugin/driver-error.js";
import type { CallContext, ServiceHandlers } from "../../src/plugin/handler-types.js";
import type { Logger } from "../../src/plugin/logger.js";
import { MutationQueue, type MutationQueueOptions } from "../../src/plugin/mutation-queue.js";
import { addAdaptedService } from "../../src/plugin/service-adapter.js";
import { removeDir, shortTempDir, unary } from "./spawn-plugin.js";

interface Logged {
  level: string;
  message: string;
}

function recordingLogger(into: Logged[]): Logger {
  const at = (level: string) => (message: string) => void into.push({ level, message });
  const log: Logger = {
    trace: at("trace"),
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: () => log,
  };
  return log;
}

let dir: string;
let server: Server;
let client: DriverServiceClient;
let logged: Logged[];

type Handlers = Partial<ServiceHandlers<typeof DriverServiceService>>;

async function serveDriver(driver: Handlers, queue: MutationQueueOptions = {}): Promise<void> {
  server = new Server();
  addAdaptedService(server, DriverServiceService, driver, {
    log: recordingLogger(logged),
    implementer: "test",
    gate: new MutationQueue({ log: recordingLogger(logged), ...queue }),
  });
  const address = `unix:${join(dir, "s.sock")}`;
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(address, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  client = new DriverServiceClient(address, credentials.createInsecure());
}

/** Resolves with the reason once the handler's signal fires. */
function abortOf(ctx: CallContext): Promise<DriverError> {
  const { signal } = ctx;
  return signal.aborted
    ? Promise.resolve(signal.reason as DriverError)
    : once(signal, "abort").then(() => signal.reason as DriverError);
}

/** Node 20 has no Promise.withResolvers. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * One round trip on the same connection: HTTP/2 frames arrive in order, so
 * once a later query is answered the server has handled what was sent before.
 */
const roundTrip = () => unary((cb) => client.getState({}, cb));

const failure = <T>(p: Promise<T>) =>
  p.then(
    () => expect.fail("the call should have failed"),
    (err: ServiceError) => err,
  );

beforeEach(async () => {
  dir = await shortTempDir();
  logged = [];
});

afterEach(async () => {
  client?.close();
  server?.forceShutdown();
  await removeDir(dir);
});

describe("a handler's signal", () => {
  it("fires with DEADLINE_EXCEEDED when the client's deadline passes mid-call", async () => {
    let reason: Promise<DriverError> | undefined;
    await serveDriver({
      async getIp(_req, ctx) {
        reason = abortOf(ctx);
        await reason;
        return { ip: "never" };
      },
    });
    const err = await failure(unary((cb) => client.getIp({}, new Metadata(), { deadline: Date.now() + 200 }, cb)));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect((await reason!).code).toBe(status.DEADLINE_EXCEEDED);
  });

  it("fires with CANCELLED when the client cancels", async () => {
    const started = deferred();
    let reason: Promise<DriverError> | undefined;
    await serveDriver({
      async getIp(_req, ctx) {
        reason = abortOf(ctx);
        started.resolve();
        await reason;
        return { ip: "never" };
      },
    });
    const call = client.getIp({}, () => {});
    await started.promise;
    call.cancel();
    expect(await reason!).toMatchObject({ code: status.CANCELLED, message: "the client cancelled getIp" });
  });

  it("is already aborted when first read after the client cancelled", async () => {
    const started = deferred();
    const cancelledSeen = deferred();
    let seen: { aborted: boolean; code: number | undefined } | undefined;
    await serveDriver({
      async getState() {
        return { state: State.STATE_STOPPED };
      },
      async getIp(_req, ctx) {
        started.resolve();
        await cancelledSeen.promise;
        seen = { aborted: ctx.signal.aborted, code: (ctx.signal.reason as DriverError | undefined)?.code };
        return { ip: "late" };
      },
    });
    const call = client.getIp({}, () => {});
    await started.promise;
    call.cancel();
    await roundTrip();
    cancelledSeen.resolve();
    await expect.poll(() => seen).toEqual({ aborted: true, code: status.CANCELLED });
  });

  it.each([
    ["watches its signal", true],
    ["never looks at its signal", false],
  ])("a handler that %s and fails after its deadline is not logged as an unexpected error", async (_what, watches) => {
    const done = deferred();
    await serveDriver({
      async getState() {
        return { state: State.STATE_STOPPED };
      },
      async getIp(_req, ctx) {
        try {
          if (watches) await abortOf(ctx);
          else await sleep(300);
          throw new Error("gave up");
        } finally {
          done.resolve();
        }
      },
    });
    const err = await failure(unary((cb) => client.getIp({}, new Metadata(), { deadline: Date.now() + 100 }, cb)));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    await done.promise;
    await roundTrip();
    expect(logged.filter((l) => l.level === "error")).toEqual([]);
  });
});

describe("calls that never look at their signal", () => {
  it("answer, and leave no listener on the call and no timer behind", async () => {
    let calls = 0;
    await serveDriver({
      async getState() {
        calls++;
        return { state: State.STATE_RUNNING };
      },
    });
    await unary((cb) => client.getState({}, cb));
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    for (let i = 0; i < 20; i++)
      expect(await unary((cb) => client.getState({}, cb))).toEqual({ state: State.STATE_RUNNING });
    expect(calls).toBe(21);
    expect(timers()).toBeLessThanOrEqual(before);
  });
});

describe("Kill and the mutation queue", () => {
  it("Kill runs only once the call it aborted has settled (its cleanup included), and ahead of the calls queued behind it", async () => {
    const order: string[] = [];
    const stopStarted = deferred();
    await serveDriver({
      async stop(_request, ctx) {
        stopStarted.resolve();
        await abortOf(ctx);
        // Cleanup after the abort, on the same files Kill would touch.
        await sleep(100);
        order.push("stop cleaned up");
        return {};
      },
      async setConfig() {
        order.push("setConfig ran");
        return {};
      },
      async kill() {
        order.push("kill ran");
        await sleep(100);
        order.push("kill finished");
        return {};
      },
      async getState() {
        return { state: State.STATE_STOPPED };
      },
    });
    const stop = failure(unary((cb) => client.stop({}, cb)));
    await stopStarted.promise;
    // Queued behind Stop before Kill arrives.
    const setConfig = unary((cb) => client.setConfig({ configJson: Buffer.from("{}") }, cb));
    await roundTrip();
    await unary((cb) => client.kill({}, cb));
    expect((await stop).code).toBe(status.CANCELLED);
    await setConfig;
    expect(order).toEqual(["stop cleaned up", "kill ran", "kill finished", "setConfig ran"]);
  });

  it("Kill answers a unary mutating call CANCELLED at once even if its handler ignores the signal, and runs after its bounded wait; the next one waits for that handler", async () => {
    const order: string[] = [];
    const stopStarted = deferred();
    const release = deferred();
    await serveDriver(
      {
        async stop() {
          stopStarted.resolve();
          // Ignores its signal: it ends only when the test lets it.
          await release.promise;
          order.push("stop handler finished");
          return {};
        },
        async setConfig() {
          order.push("setConfig ran");
          return {};
        },
        async kill() {
          return {};
        },
        async getState() {
          return { state: State.STATE_STOPPED };
        },
      },
      { killWaitMs: 300 },
    );
    const stop = failure(unary((cb) => client.stop({}, cb)));
    void stop.then(() => order.push("stop answered"));
    await stopStarted.promise;
    await unary((cb) => client.kill({}, cb));
    order.push("kill answered");
    const err = await stop;
    expect(err.code).toBe(status.CANCELLED);
    expect(err.details).toBe("stop was aborted by kill");
    expect(logged.map((l) => l.message)).toContain(
      "stop, aborted by kill, did not end within 0.3 s; kill runs while it is still running",
    );
    // Queued behind the stop handler, which has not finished yet.
    const setConfig = unary((cb) => client.setConfig({ configJson: Buffer.from("{}") }, cb));
    await roundTrip();
    order.push("handler released");
    release.resolve();
    await setConfig;
    expect(order).toEqual([
      "stop answered",
      "kill answered",
      "handler released",
      "stop handler finished",
      "setConfig ran",
    ]);
  });

  it("a queued call whose client gives up leaves the order of the others intact", async () => {
    const order: string[] = [];
    const firstStarted = deferred();
    await serveDriver({
      async getState() {
        return { state: State.STATE_STOPPED };
      },
      async stop() {
        firstStarted.resolve();
        await sleep(200);
        order.push("stop");
        return {};
      },
      async remove() {
        order.push("remove (gave up, must not run)");
        return {};
      },
      async setConfig() {
        order.push("setConfig");
        return {};
      },
    });
    const stop = unary((cb) => client.stop({}, cb));
    await firstStarted.promise;
    const remove = client.remove({}, () => {});
    const setConfig = unary((cb) => client.setConfig({ configJson: Buffer.from("{}") }, cb));
    await roundTrip();
    remove.cancel();
    await stop;
    await setConfig;
    expect(order).toEqual(["stop", "setConfig"]);
  });

  it("lets a mutating call in at once when no other one holds the queue", async () => {
    let ran = 0;
    await serveDriver({
      async setConfig() {
        ran++;
        return {};
      },
    });
    for (let i = 0; i < 5; i++) await unary((cb) => client.setConfig({ configJson: Buffer.from("{}") }, cb));
    expect(ran).toBe(5);
  });
});
