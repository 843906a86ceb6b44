// Fuzzes a live fake plugin over its socket: random JSON and random bytes as
// SetConfig/UpdateConfig configs through the typed client, and random or
// malformed gRPC frames to every DriverService method over a raw HTTP/2
// connection. Every bad input must get a clear status (never UNKNOWN, never
// a silent success with a bogus field), and the plugin must keep serving.
import { status } from "@grpc/grpc-js";
import fc from "fast-check";
import { constants, type ClientHttp2Session } from "node:http2";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { ClientError, launch, silentLogger, type PluginHandle } from "../../src/host/index.js";
import { removeDir, shortTempDir } from "../plugin/spawn-plugin.js";
import { Figures } from "./figures.js";
import { fuzzSeed } from "./fuzz-seed.js";
import { frame, openSession, rawCall, type RawAnswer, type RawCall } from "./raw-grpc.js";

const seed = fuzzSeed("wire");
const figures = new Figures("fuzz-wire");

let root: string;
let plugin: PluginHandle<typeof DriverServiceService>;
let session: ClientHttp2Session;

/**
 * One raw call. The server may end a session after refusing something (a
 * GOAWAY after an oversized request): a call that got no answer at all is
 * retried once on a fresh session, and the reopening counted.
 */
async function raw(call: RawCall): Promise<RawAnswer> {
  if (!session.closed && !session.destroyed) {
    const a = await rawCall(session, call);
    if (a.httpStatus !== 0 || a.grpcStatus !== undefined || a.rstCode !== 0) return a;
  }
  session.destroy();
  session = await openSession(plugin.record.address);
  figures.add("rawSessionsReopened");
  return rawCall(session, call);
}
const store = () => join(root, "store");
const valid = () => ({ machineName: "fuzz", storePath: store() });

beforeAll(async () => {
  root = await shortTempDir();
  plugin = await launch("fake", { socketBaseDir: join(root, "b"), logger: silentLogger });
  session = await openSession(plugin.record.address);
});
afterAll(async () => {
  session?.close();
  // Still the same process: no input crashed it.
  figures.set("pluginRestarts", plugin.exit === undefined ? 0 : 1);
  await plugin?.close();
  await removeDir(root);
  figures.print();
});

const FIELDS = [
  "machineName",
  "storePath",
  "cpus",
  "memoryMiB",
  "diskGiB",
  "networks",
  "stepDelayMs",
  "bundleName",
  "nestedVirtualization",
  "sharedDirs",
];
/** Keys that break naive `object[key]` lookups. */
const TRICKY_KEYS = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "prototype", ""];

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

/** OK or INVALID_ARGUMENT with a message; anything else fails the property. */
async function configCall(
  call: () => Promise<unknown>,
  allowed: number[] = [status.INVALID_ARGUMENT],
): Promise<"ok" | "refused"> {
  figures.add("configInputs");
  try {
    await call();
    return "ok";
  } catch (err) {
    if (!(err instanceof ClientError)) throw err;
    if (!allowed.includes(err.code) || err.details === "")
      throw new Error(`expected INVALID_ARGUMENT with a message, got ${err.message}`, { cause: err });
    figures.add("configRefused");
    return "refused";
  }
}

async function expectOnlyKnownFields(): Promise<void> {
  const { configJson } = await plugin.client.getConfig({});
  const keys = Object.keys(JSON.parse(Buffer.from(configJson).toString()) as object);
  expect(keys.filter((k) => !FIELDS.includes(k))).toEqual([]);
}

async function stillServing(): Promise<void> {
  expect((await plugin.client.getInfo({})).driverName).toBe("fake");
  figures.add("getInfoChecks");
}

const configValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(0, -1, 1.5, 2 ** 53, "", "/abs", "rel", [], {}, null, true),
);
/** Values the fake driver accepts, so some inputs pass and the accepted path is fuzzed too. */
const goodExtras = fc.record(
  {
    cpus: fc.integer({ min: 1, max: 64 }),
    memoryMiB: fc.integer({ min: 128, max: 65536 }),
    diskGiB: fc.integer({ min: 1, max: 1000 }),
    networks: fc.array(fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/), { minLength: 1, maxLength: 3 }),
    nestedVirtualization: fc.boolean(),
    bundleName: fc.string({ minLength: 1, maxLength: 10 }),
  },
  { requiredKeys: [] },
);
const randomExtras = fc.dictionary(
  fc.oneof(fc.constantFrom(...FIELDS), fc.constantFrom(...TRICKY_KEYS), fc.string({ maxLength: 8 })),
  configValue,
  { maxKeys: 6 },
);
const configLike = fc
  .tuple(
    fc.oneof(goodExtras, randomExtras),
    fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: fc.constantFrom(...TRICKY_KEYS), weight: 1 }),
  )
  .map(([extra, tricky]) => {
    const text = JSON.stringify({ ...extra, ...valid() });
    // JSON.stringify drops an own "__proto__" set by spread; write such keys into the text directly.
    return tricky === null ? text : text.replace(/^\{/, `{${JSON.stringify(tricky)}:1,`);
  });

describe("SetConfig and UpdateConfig with random input", () => {
  it("random JSON documents: OK or INVALID_ARGUMENT, and an accepted config holds only known fields", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
          configLike,
        ),
        async (text) => {
          if ((await configCall(() => plugin.client.setConfig({ configJson: Buffer.from(text) }))) === "ok")
            await expectOnlyKnownFields();
        },
      ),
      { seed, numRuns: 300 },
    );
    await stillServing();
  });

  it("config-shaped objects with tricky keys (__proto__, constructor, toString) are refused as unknown fields", async () => {
    for (const key of TRICKY_KEYS) {
      const text = `{${JSON.stringify(key)}:1,"machineName":"fuzz","storePath":${JSON.stringify(store())}}`;
      expect(await configCall(() => plugin.client.setConfig({ configJson: Buffer.from(text) }))).toBe("refused");
    }
    await stillServing();
  });

  it("random bytes as the config: INVALID_ARGUMENT with a message", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (bytes) => {
        expect(await configCall(() => plugin.client.setConfig({ configJson: Buffer.from(bytes) }))).toBe("refused");
      }),
      { seed, numRuns: 200 },
    );
    await stillServing();
  });

  it("random updates of an existing machine: OK or INVALID_ARGUMENT, never a bogus field", async () => {
    await plugin.client.setConfig({ configJson: json(valid()) });
    for await (const _ of plugin.client.create({})) {
      // Only needs to finish.
    }
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          configLike,
          fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b).toString("latin1")),
        ),
        async (text) => {
          if (
            (await configCall(() => plugin.client.updateConfig({ configJson: Buffer.from(text, "latin1") }))) === "ok"
          )
            await expectOnlyKnownFields();
        },
      ),
      { seed, numRuns: 300 },
    );
    await stillServing();
  });
});

const METHODS = Object.values(DriverServiceService).map((m) => m.path);
/** Statuses a garbled request may rightly get; UNKNOWN (a leaked exception) is not one. */
const ALLOWED = new Set([
  status.OK,
  status.INVALID_ARGUMENT,
  status.DEADLINE_EXCEEDED,
  status.NOT_FOUND,
  status.ALREADY_EXISTS,
  status.RESOURCE_EXHAUSTED,
  status.FAILED_PRECONDITION,
  status.UNIMPLEMENTED,
  status.INTERNAL,
]);

function expectClearStatus(call: RawCall, a: RawAnswer): void {
  figures.add("rawCalls");
  const what = `${call.path} with ${call.body.length} bytes answered ${JSON.stringify(a)}`;
  if (a.rstCode === constants.NGHTTP2_ENHANCE_YOUR_CALM && a.grpcStatus === undefined) {
    // The HTTP/2 layer refused an oversized request outright (grpc clients read it as RESOURCE_EXHAUSTED).
    figures.add("rawRefused");
    return;
  }
  if (call.contentType && call.contentType !== "application/grpc") {
    // Not gRPC at all: an HTTP-level refusal is the clear answer.
    expect(a.httpStatus === 415 || (a.grpcStatus !== undefined && a.grpcStatus !== status.OK), what).toBe(true);
  } else {
    expect(a.grpcStatus, what).toBeDefined();
    expect(ALLOWED.has(a.grpcStatus!), what).toBe(true);
    if (a.grpcStatus !== status.OK) expect(a.grpcMessage, what).not.toBe("");
  }
  if (a.grpcStatus !== status.OK) figures.add("rawRefused");
}

const MALFORMED: Array<[string, Buffer, string?]> = [
  ["compressed flag without an encoding", frame(Buffer.from([8, 1]), 1)],
  ["an unknown flag byte", frame(Buffer.from([8, 1]), 0x80)],
  ["a length longer than the body", frame(Buffer.from([8, 1]), 0, 100)],
  ["a length shorter than the body", frame(Buffer.from([8, 1, 8, 2, 9]), 0, 2)],
  ["a partial prefix", Buffer.from([0, 0, 0])],
  ["no message at all", Buffer.alloc(0)],
  ["two messages", Buffer.concat([frame(Buffer.alloc(0)), frame(Buffer.alloc(0))])],
  ["a 4 GiB declared length", frame(Buffer.from([1]), 0, 0xffffffff)],
  ["a 5 MiB message, over the default limit", frame(Buffer.alloc(5 * 2 ** 20, 0x0a))],
  ["the JSON content type", frame(Buffer.from("{}")), "application/json"],
];

describe("raw HTTP/2 requests to every DriverService method", () => {
  it("random bodies in a valid frame: a clear status every time, and GetInfo still answers after each method's batch", async () => {
    await plugin.client.setConfig({ configJson: json(valid()) }).catch(() => undefined);
    for (const path of METHODS) {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (payload) => {
          const call = { path, body: frame(payload), timeout: "300m" };
          expectClearStatus(call, await raw(call));
        }),
        { seed, numRuns: 30 },
      );
      await stillServing();
    }
  }, 60_000);

  it("random bytes with no framing at all: a clear status every time", async () => {
    for (const path of METHODS) {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 64 }), async (bytes) => {
          const call = { path, body: Buffer.from(bytes), timeout: "300m" };
          expectClearStatus(call, await raw(call));
        }),
        { seed, numRuns: 10 },
      );
    }
    await stillServing();
  }, 60_000);

  for (const [what, body, contentType] of MALFORMED) {
    it(`${what}: a clear status from every method`, async () => {
      // A session of its own: the server may end it after this refusal.
      session.destroy();
      session = await openSession(plugin.record.address);
      for (const path of METHODS) {
        const call: RawCall = { path, body, timeout: "300m", ...(contentType ? { contentType } : {}) };
        expectClearStatus(call, await raw(call));
      }
      await stillServing();
    });
  }

  it("an unknown method on the service: UNIMPLEMENTED naming it", async () => {
    const call = { path: "/driverplug.driver.v1.DriverService/FormatDisk", body: frame(Buffer.alloc(0)) };
    const a = await raw(call);
    expectClearStatus(call, a);
    expect(a.grpcStatus).toBe(status.UNIMPLEMENTED);
    expect(a.grpcMessage).toContain("FormatDisk");
  });
});
