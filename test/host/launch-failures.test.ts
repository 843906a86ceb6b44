// Every way a plugin can fail to start gives its own ClientError reason and
// a message that says what happened; the process is killed and reaped and
// its private directory removed each time.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { launch, ClientError, silentLogger, type ClientErrorReason } from "../../src/host/index.js";
import { childProcesses, entries, FIXTURE, makeHostTestEnv, type HostTestEnv } from "./host-test-env.js";

let env: HostTestEnv;
beforeEach(async () => {
  env = await makeHostTestEnv();
});
afterEach(async () => {
  await env.cleanup();
});

async function launchFailure(mode: string, startTimeoutMs = 10_000): Promise<ClientError> {
  const err = await launch("fixture", {
    executable: FIXTURE,
    args: [mode],
    socketBaseDir: env.base,
    logger: silentLogger,
    startTimeoutMs,
    env: { FIXTURE_SCRATCH: env.scratch },
  }).then(
    () => {
      throw new Error(`mode ${mode} launched, expected a failure`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ClientError);
  // Nothing is left behind: no private dir, no child (not even a zombie).
  expect(await entries(env.base)).toEqual([]);
  expect(childProcesses()).toEqual([]);
  return err as ClientError;
}

function expectReason(err: ClientError, reason: ClientErrorReason, ...fragments: (string | RegExp)[]): void {
  expect(err.reason).toBe(reason);
  for (const f of fragments) expect(err.message).toMatch(f);
}

describe("launch failures", () => {
  it("reports an exit before the handshake with the exit code and the stderr tail", async () => {
    const err = await launchFailure("exit-early");
    expectReason(err, "exited", "exited with code 3", "config file /nonexistent is missing", "fixture: reading config");
  });

  it("reports garbage instead of a handshake, quoting it", async () => {
    const err = await launchFailure("garbage");
    expectReason(err, "bad-handshake", "Hello! I am a plugin and I like to chat.");
  });

  it("reports an app protocol version the host does not speak", async () => {
    const err = await launchFailure("wrong-version");
    expectReason(err, "version-mismatch", "version 7", "[1]");
  });

  it("kills a plugin that prints no handshake in time and says so", async () => {
    const started = Date.now();
    const err = await launchFailure("hang", 1000);
    // Its stderr (if it got that far on a loaded machine) is quoted too.
    expectReason(err, "timeout", "within 1 s", "killed", /fixture: thinking\.\.\.|wrote nothing to stderr/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("reports a plugin that closes stdout without a handshake", async () => {
    const err = await launchFailure("close-stdout");
    expectReason(err, "bad-handshake", "closed its stdout while still running");
  });

  it("says a plugin exited, not that its socket is missing, when it dies right after the handshake", async () => {
    const err = await launchFailure("handshake-then-die");
    expectReason(err, "exited", "exited with code 4 right after its handshake", "panic: the hypervisor went away");
  });

  it("reports a plugin that cannot be started", async () => {
    const err = await launch("fixture", {
      executable: `${env.scratch}/missing`,
      socketBaseDir: env.base,
      logger: silentLogger,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expectReason(err as ClientError, "spawn-failed", "ENOENT");
    expect(await entries(env.base)).toEqual([]);
  });
});

describe("untrusted handshake addresses", () => {
  it("refuses a tcp address", async () => {
    expectReason(await launchFailure("tcp"), "untrusted-address", "only talk to plugins over unix sockets");
  });

  it("refuses a relative address", async () => {
    expectReason(await launchFailure("addr-relative"), "untrusted-address", "not an absolute path");
  });

  it("refuses an address with '..' in it", async () => {
    expectReason(await launchFailure("addr-dotdot"), "untrusted-address", "not a normalized path");
  });

  it("refuses a socket outside the private directory", async () => {
    expectReason(await launchFailure("addr-outside"), "untrusted-address", "not directly inside the private directory");
  });

  it("refuses a symlink to a socket", async () => {
    expectReason(await launchFailure("addr-symlink"), "untrusted-address", "is a symlink");
  });

  it("refuses a regular file", async () => {
    expectReason(await launchFailure("addr-file"), "untrusted-address", "not a socket (a regular file)");
  });

  it("refuses an address where nothing exists", async () => {
    expectReason(await launchFailure("addr-missing"), "untrusted-address", "does not exist");
  });

  it("refuses a socket that other users may connect to (0666)", async () => {
    expectReason(await launchFailure("addr-0666"), "untrusted-address", "mode 0666");
  });
});
