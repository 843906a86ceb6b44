// A push-to-pull queue: the connection pushes events or stream data as
// records arrive, a consumer pulls them with `for await`. It ends cleanly
// (end()) or with an error (fail()), and holds at most `limit` items: past
// that the oldest are dropped and counted, so a consumer that stopped
// reading cannot make the connection buffer without bound.
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private items: T[] = [];
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private done = false;
  private error: unknown;
  dropped = 0;

  constructor(
    private readonly limit: number,
    private readonly onReturn?: () => void,
  ) {}

  push(item: T): void {
    if (this.done) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
    if (this.items.length > this.limit) {
      this.items.shift();
      this.dropped++;
    }
  }

  end(): void {
    this.finish(undefined);
  }

  fail(error: unknown): void {
    this.finish(error ?? new Error("the queue failed"));
  }

  private finish(error: unknown): void {
    if (this.done) return;
    this.done = true;
    this.error = error;
    const w = this.waiter;
    this.waiter = undefined;
    if (!w) return;
    if (error !== undefined) w.reject(error);
    else w.resolve({ value: undefined, done: true });
  }

  get ended(): boolean {
    return this.done;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift()!, done: false });
    if (this.done) {
      if (this.error !== undefined) {
        const error = this.error;
        // Thrown once; afterwards the iterator is simply done.
        this.error = undefined;
        return Promise.reject(error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.items = [];
    this.error = undefined;
    this.finish(undefined);
    this.onReturn?.();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
