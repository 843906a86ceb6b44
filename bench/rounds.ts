// Runs contenders side by side: each round runs every contender once, in an
// order that flips every round (A B, B A, A B...), so drift on a shared
// machine lands on all contenders alike. Callers take medians over rounds.

export interface Contender<R> {
  name: string;
  /** One measurement; its result is kept per round. */
  run(): Promise<R>;
}

export async function alternate<R>(contenders: readonly Contender<R>[], rounds: number): Promise<Map<string, R[]>> {
  const out = new Map<string, R[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const c of order) out.get(c.name)!.push(await c.run());
  }
  return out;
}

/** Per-round values of one field, in round order. */
export function field<R, K extends keyof R>(results: Map<string, R[]>, name: string, key: K): R[K][] {
  const rows = results.get(name);
  if (rows === undefined) throw new Error(`no results for contender ${JSON.stringify(name)}`);
  return rows.map((r) => r[key]);
}
