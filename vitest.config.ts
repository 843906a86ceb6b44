import { defineConfig } from "vitest/config";

// Files that boot virtual machines end in .vm.test.ts: they run one at a time,
// after the rest (vitest runs a project without file parallelism last), so a
// TCG guest has both cores and a real image boots in its usual time.
const VM_TESTS = "test/**/*.vm.test.ts";

export default defineConfig({
  test: {
    // Stops the libvirt daemons the libvirt tests started, however the run ends.
    globalSetup: ["test/libvirt/global-daemon.ts"],
    // Tests start real plugin processes; two cores run two files at a time.
    pool: "forks",
    // Warm plugins off for every CLI a test starts (they inherit this), so a
    // test's plugins end with its commands; test/cli/cli-warm.test.ts turns them on.
    env: { DRIVERPLUG_WARM: "0" },
    maxWorkers: 2,
    // Budgets for a loaded 2-core machine: a test that runs a dozen CLI commands
    // (two Node starts each) can need a minute there; outcomes, not speed, are tested.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: { name: "main", include: ["test/**/*.test.ts"], exclude: [VM_TESTS] },
      },
      {
        extends: true,
        test: { name: "vm", include: [VM_TESTS], fileParallelism: false },
      },
    ],
  },
});
