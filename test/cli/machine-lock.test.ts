// The per-machine lock: exclusive, waits for the holder, times out with a
// message naming the machine and the holder, and is released idempotently.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isMachineLocked, lockMachine, readLockHolder } from "../../src/cli/machine-lock.js";
import { MachineStore } from "../../src/cli/machine-store.js";

let root: string;
let store: MachineStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "dp-lock-"));
  store = new MachineStore(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("machine lock", () => {
  it("records who holds it and is free again after release", async () => {
    const lock = await lockMachine(store, "m1", { timeoutMs: 0, command: "driverplug start m1" });
    expect(await isMachineLocked(store, "m1")).toBe(true);
    expect(await readLockHolder(store, "m1")).toMatchObject({ pid: process.pid, command: "driverplug start m1" });
    await lock.release();
    await lock.release();
    expect(await isMachineLocked(store, "m1")).toBe(false);
    expect(await readLockHolder(store, "m1")).toBeUndefined();
  });

  it("fails after the timeout naming the machine, the holder and the lock file", async () => {
    const lock = await lockMachine(store, "m1", { timeoutMs: 0, command: "driverplug create m1" });
    try {
      const started = Date.now();
      const err = await lockMachine(store, "m1", { timeoutMs: 200, command: "driverplug stop m1" }).catch(
        (e: unknown) => e as Error,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(
        new RegExp(
          `machine "m1" is busy: process ${process.pid} \\("driverplug create m1", since .*\\) holds its lock .*m1\\.lock`,
        ),
      );
    } finally {
      await lock.release();
    }
  });

  it("lets a waiting command in once the holder releases", async () => {
    const first = await lockMachine(store, "m1", { timeoutMs: 0, command: "first" });
    const second = lockMachine(store, "m1", { timeoutMs: 5_000, command: "second" });
    let acquired = false;
    void second.then(() => (acquired = true));
    await new Promise((r) => setImmediate(r));
    expect(acquired).toBe(false);
    await first.release();
    const lock = await second;
    expect(await readLockHolder(store, "m1")).toMatchObject({ command: "second" });
    await lock.release();
  });

  it("locks machines independently", async () => {
    const a = await lockMachine(store, "a", { timeoutMs: 0, command: "a" });
    const b = await lockMachine(store, "b", { timeoutMs: 0, command: "b" });
    await Promise.all([a.release(), b.release()]);
  });

  it("stops waiting when aborted", async () => {
    const lock = await lockMachine(store, "m1", { timeoutMs: 0, command: "holder" });
    const controller = new AbortController();
    const waiting = lockMachine(store, "m1", { timeoutMs: 10_000, command: "waiter", signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toThrow(/abort/i);
    await lock.release();
  });
});
