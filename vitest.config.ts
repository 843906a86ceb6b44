import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Stops the libvirt daemons the libvirt tests started, however the run ends.
    globalSetup: ["test/libvirt/global-daemon.ts"],
    // Tests start real plugin processes; two cores run two files at a time.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
