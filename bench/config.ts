// How much the bench measures: the full run (`make bench`, under 10 minutes)
// or BENCH_QUICK=1 (under 2 minutes, for a smoke check of the numbers).

export interface BenchConfig {
  quick: boolean;
  unary: { calls: number; rounds: number; warmUpCalls: number };
  inflight: { calls: number; inFlight: number; rounds: number };
  echo: { calls: number; rounds: number };
  stream: { count: number; rounds: number };
  startup: { rounds: number };
  scale: { counts: number[]; rounds: number };
  goHost: { calls: number; rounds: number };
  /** The CLI section: status vs node rounds, ls machine counts, ls runs per count (the first samples /proc). */
  cli: { rounds: number; lsCounts: number[]; lsRounds: number };
  /** Each round boots the guest twice (driverplug, by hand): about 30 s under TCG. */
  qemu: { rounds: number; getStateCalls: number };
  /** extraBoots: the tb-size=512 boot and later tuned/untuned rounds (three boots more, 15 minutes under load). */
  cloudImage: { rounds: number; extraBoots: boolean };
  /** Each round boots the guest twice (libvirt, qemu driver): about 40 s under TCG. */
  libvirt: { rounds: number; getStateCalls: number };
}

export function benchConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const quick = env.BENCH_QUICK === "1";
  return quick
    ? {
        quick,
        unary: { calls: 600, rounds: 5, warmUpCalls: 300 },
        inflight: { calls: 3000, inFlight: 64, rounds: 3 },
        echo: { calls: 15, rounds: 3 },
        stream: { count: 10_000, rounds: 3 },
        startup: { rounds: 4 },
        scale: { counts: [1, 10, 50], rounds: 1 },
        goHost: { calls: 600, rounds: 3 },
        cli: { rounds: 5, lsCounts: [1, 20, 100, 500], lsRounds: 3 },
        qemu: { rounds: 1, getStateCalls: 50 },
        cloudImage: { rounds: 1, extraBoots: false },
        libvirt: { rounds: 1, getStateCalls: 50 },
      }
    : {
        quick,
        unary: { calls: 3000, rounds: 9, warmUpCalls: 1000 },
        inflight: { calls: 10_000, inFlight: 64, rounds: 5 },
        echo: { calls: 40, rounds: 11 },
        stream: { count: 50_000, rounds: 7 },
        startup: { rounds: 15 },
        scale: { counts: [1, 10, 50], rounds: 3 },
        goHost: { calls: 3000, rounds: 7 },
        cli: { rounds: 11, lsCounts: [1, 20, 100, 500], lsRounds: 9 },
        qemu: { rounds: 5, getStateCalls: 200 },
        cloudImage: { rounds: 2, extraBoots: true },
        libvirt: { rounds: 3, getStateCalls: 200 },
      };
}
