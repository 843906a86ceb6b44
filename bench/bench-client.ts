// What every gRPC contender offers the suites: the same DriverService calls,
// made through whichever client the contender stands for.

export interface BenchClient {
  getState(): Promise<unknown>;
  /** SetConfig with `payload`, then GetConfig; resolves with the bytes that came back. */
  configRoundTrip(payload: Buffer): Promise<number>;
  /** One WatchState stream read to its end; resolves with the messages received. */
  watchBurst(): Promise<number>;
  close(): void | Promise<void>;
}
