// What every interop host must have seen in one lifecycle run, whichever
// host and plugin: the same states, watch events, IP range and status codes.
import { expect } from "vitest";

export function expectFullLifecycle(summary: Record<string, unknown>): void {
  expect(summary.error).toBeUndefined();
  expect(summary.ok).toBe(true);
  expect(summary.negotiatedVersion).toBe(1);
  expect(summary.states).toEqual([
    "STATE_NONE_UNSPECIFIED",
    "STATE_STOPPED",
    "STATE_RUNNING",
    "STATE_STOPPED",
    "STATE_NONE_UNSPECIFIED",
  ]);
  const watched = summary.watched as string[];
  expect(watched[0]).toBe("STATE_STOPPED");
  expect(watched.at(-1)).toBe("STATE_RUNNING");
  const createProgress = summary.createProgress as number[];
  expect(createProgress.length).toBeGreaterThan(0);
  expect(createProgress.at(-1)).toBe(100);
  expect(summary.ip).toMatch(/^192\.0\.2\.\d{1,3}$/);
  expect(summary.errorCodes).toEqual({
    setConfigBadJSON: "INVALID_ARGUMENT",
    getIPBeforeCreate: "NOT_FOUND",
    createTwice: "ALREADY_EXISTS",
    getIPWhileStopped: "FAILED_PRECONDITION",
  });
  expect(summary.socketGone).toBe(true);
}
