// The kit's settings for the drivers shipped with driverplug, so that
// `driverplug conformance --driver fake` runs every check with nothing else
// given: the fake driver slows down with stepDelayMs and keeps shared
// directories (whose passwords are the secret to watch for); the libvirt
// driver's plugins share a libvirt daemon that outlives them.
import type { JsonObject } from "./kit-settings.js";
import { SECRET_PLACEHOLDER } from "./kit-settings.js";

export interface DriverProfile {
  slowConfig?: JsonObject;
  secretConfig?: JsonObject;
  /** Processes its plugins start to outlive them (command lines), as ConformanceOptions.allowRunning. */
  allowRunning?: RegExp;
}

export const BUNDLED_PROFILES: Readonly<Record<string, DriverProfile>> = Object.freeze({
  fake: {
    // Create 4 steps, Start 3: about 2 s and 1.5 s, past START_DEADLINE_MS.
    slowConfig: { stepDelayMs: 500 },
    secretConfig: {
      sharedDirs: [{ source: "/tmp", target: "/mnt/conformance", username: "kit", password: SECRET_PLACEHOLDER }],
    },
  },
  libvirt: {
    // The session daemon the driver starts when none answers (libvirtd --timeout=120, detached, maybe
    // under tini -s and in a private mount namespace) serves every later plugin: it is meant to outlive them.
    allowRunning: /(^|\/)(libvirtd|virtqemud|tini|unshare)( |$)/,
  },
});
