// A sandbox with one stopped fake machine, m1, whose every start step takes
// 3 s, so a `start m1` holds the machine's lock long enough to be caught in it.
// Registers its own hooks; every process it tracks is killed and reaped after
// each test.
import { afterEach, beforeEach } from "vitest";
import { expectOk, Sandbox, type Running } from "./driverplug-process.js";

export interface SlowMachine {
  readonly box: Sandbox;
  /** Kills and reaps `r` after the test, even when the test fails. */
  track(r: Running): Running;
  /** Starts `start m1` and resolves once it holds the lock and its first step runs. */
  holder(): Promise<Running>;
}

export function useSlowMachine(): SlowMachine {
  let box: Sandbox | undefined;
  const running: Running[] = [];
  beforeEach(async () => {
    box = await Sandbox.create();
    await expectOk(box, ["create", "--driver", "fake", "--config", '{"stepDelayMs": 0}', "m1"]);
    await expectOk(box, ["stop", "m1"]);
    await expectOk(box, ["config", "set", "m1", "stepDelayMs", "3000"]);
  });
  afterEach(async () => {
    for (const r of running.splice(0)) {
      r.child.kill("SIGCONT");
      r.child.kill("SIGKILL");
      await r.done;
    }
    await box?.dispose();
  });
  const slow: SlowMachine = {
    get box() {
      if (!box) throw new Error("useSlowMachine()'s sandbox exists only inside a test");
      return box;
    },
    track(r) {
      running.push(r);
      return r;
    },
    async holder() {
      const r = slow.track(slow.box.start(["start", "m1"]));
      await r.waitForStderr(/%\]/);
      return r;
    },
  };
  return slow;
}
