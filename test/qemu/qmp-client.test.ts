// The QMP client against a QMP server written in the test: greeting and
// capabilities, command answers and errors matched to their commands, events,
// the end of the connection, and QMP's one-client-per-socket rule.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { QmpClient, QmpError, qmpOnce, type QmpEvent } from "../../src/drivers/qemu/qmp-client.js";
import { FakeQmpServer } from "./fake-qmp-server.js";

let dir: string;
let server: FakeQmpServer;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "dp-qmp-"));
  server = new FakeQmpServer(join(dir, "qmp.sock"), {
    "query-status": () => ({ return: { status: "running", running: true } }),
    "echo-args": (args) => ({ return: args ?? null }),
    system_powerdown: () => ({ return: {} }),
  });
  await server.listen();
});
afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe("the QMP client", () => {
  it("negotiates capabilities before any command, then runs commands with their arguments", async () => {
    const client = await QmpClient.connect(server.path);
    expect(await client.execute("query-status")).toEqual({ status: "running", running: true });
    expect(await client.execute("echo-args", { a: 1, b: "two" })).toEqual({ a: 1, b: "two" });
    client.close();
    const sent = server.received.map((l) => JSON.parse(l) as { execute: string; arguments?: unknown });
    expect(sent.map((m) => m.execute)).toEqual(["qmp_capabilities", "query-status", "echo-args"]);
    expect(sent[2]!.arguments).toEqual({ a: 1, b: "two" });
  });

  it("turns a QMP error into a QmpError with its class and description", async () => {
    const client = await QmpClient.connect(server.path);
    const err = await client.execute("no-such-command").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpError);
    expect((err as QmpError).errorClass).toBe("CommandNotFound");
    expect((err as QmpError).message).toContain("no-such-command");
    // The connection stays usable after an error.
    expect(await client.execute("query-status")).toMatchObject({ status: "running" });
    client.close();
  });

  it("delivers events between answers and reports the end of the connection", async () => {
    const client = await QmpClient.connect(server.path);
    const events: QmpEvent[] = [];
    client.onEvent((e) => events.push(e));
    await client.execute("system_powerdown");
    server.emit("POWERDOWN");
    server.emit("SHUTDOWN", { guest: true, reason: "guest-shutdown" });
    // Commands after the events are answered after them: the events have arrived by then.
    await client.execute("query-status");
    expect(events.map((e) => e.event)).toEqual(["POWERDOWN", "SHUTDOWN"]);
    expect(events[1]!.data).toEqual({ guest: true, reason: "guest-shutdown" });
    const closed = client.whenClosed();
    server.dropClient();
    expect(await closed).toBeUndefined();
    expect(client.closed).toBe(true);
    await expect(client.execute("query-status")).rejects.toThrow(/closed/);
  });

  it("fails a pending command when QEMU goes away mid-call", async () => {
    const slow = new FakeQmpServer(join(dir, "slow.sock"), {});
    await slow.listen();
    const client = await QmpClient.connect(slow.path);
    // A command the server never answers, then the server drops the client.
    const pending = client.execute("never-answered-but-we-hang-up", undefined, 0).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    slow.dropClient();
    const err = await pending;
    expect(err).toBeInstanceOf(QmpError);
    await slow.close();
  });

  it("times out waiting for the greeting while another client holds the socket", async () => {
    const first = await QmpClient.connect(server.path);
    const err = await QmpClient.connect(server.path, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpError);
    expect((err as QmpError).errorClass).toBe("Timeout");
    expect((err as Error).message).toMatch(/one QMP client at a time/);
    first.close();
    // Once the first client leaves, a new one is served.
    expect(await qmpOnce(server.path, "query-status")).toMatchObject({ status: "running" });
  });

  it("refuses a peer that is not speaking QMP", async () => {
    const { createServer } = await import("node:net");
    const path = join(dir, "junk.sock");
    const junk = createServer((s) => s.end("this is not json\n"));
    await new Promise<void>((r) => junk.listen(path, r));
    const err = await QmpClient.connect(path, { timeoutMs: 2_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpError);
    expect((err as QmpError).errorClass).toBe("Protocol");
    await new Promise<void>((r) => junk.close(() => r()));
  });

  it("fails clearly when nothing listens", async () => {
    await expect(QmpClient.connect(join(dir, "absent.sock"))).rejects.toThrow(/absent\.sock/);
  });
});
