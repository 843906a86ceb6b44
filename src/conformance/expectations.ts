// The assertions checks are written with: each failure says what was expected
// and what came back (status code and message, or state), in one sentence a
// driver author can act on. Plugin text is untrusted: it is quoted, clipped
// and stripped of control characters before it reaches a message.
import { State, type Progress } from "../../generated/driverplug/driver/v1/driver.js";
import { ClientError } from "../host/client-error.js";
import { statusName } from "../protocol/status.js";
import { optionalLeftOut } from "./capability-calls.js";
import { fail } from "./check.js";
import { StreamBudget } from "./kept-output.js";

/** A plugin's text, safe to print: quoted, control characters escaped, at most 300 characters. */
export function quote(text: string): string {
  const clipped = text.length > 300 ? `${text.slice(0, 300)}...` : text;
  return JSON.stringify(clipped).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

export function stateName(state: State): string {
  if (state === State.STATE_NONE_UNSPECIFIED) return "NONE";
  const name = State[state] as string | undefined;
  return name ? name.replace(/^STATE_/, "") : `state ${state}`;
}

/** "NOT_FOUND: \"machine m1 does not exist\"" or "OK". */
export function describeOutcome(err: unknown): string {
  if (err === undefined) return "OK";
  if (err instanceof ClientError) return `${err.codeName}: ${quote(err.details)}`;
  return `an error on the kit's side: ${(err as Error).message ?? String(err)}`;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: ClientError };

/** Runs a call and keeps its status instead of throwing; only kit-side errors throw. */
export async function outcome<T>(call: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await call };
  } catch (err) {
    if (err instanceof ClientError) return { ok: false, error: err };
    throw err;
  }
}

/** Like expectOk, but an optional RPC the driver left out (UNIMPLEMENTED) gives undefined. */
export async function expectOkUnlessLeftOut<T>(what: string, call: Promise<T>): Promise<T | undefined> {
  const result = await outcome(call);
  if (!result.ok && optionalLeftOut(result.error)) return undefined;
  if (!result.ok) fail(`${what}: expected OK, got ${describeOutcome(result.error)}`);
  return result.value;
}

/** The call must succeed; `what` names it ("Start of a stopped machine"). */
export async function expectOk<T>(what: string, call: Promise<T>): Promise<T> {
  const result = await outcome(call);
  if (!result.ok) fail(`${what}: expected OK, got ${describeOutcome(result.error)}`);
  return result.value;
}

export interface CodeExpectation {
  /** The status message must contain this text (e.g. the flag's name). */
  mentions?: string;
}

/** The call must fail with `code` (one of `code` when a list); returns the error. */
export async function expectCode(
  what: string,
  call: Promise<unknown>,
  code: number | readonly number[],
  expectation: CodeExpectation = {},
): Promise<ClientError> {
  const codes = typeof code === "number" ? [code] : code;
  const expected = codes.map(statusName).join(" or ");
  const result = await outcome(call);
  if (result.ok) fail(`${what}: expected ${expected}, got OK`);
  // A driver may leave out an optional RPC; it then answers UNIMPLEMENTED to everything.
  if (optionalLeftOut(result.error)) return result.error;
  if (!codes.includes(result.error.code)) fail(`${what}: expected ${expected}, got ${describeOutcome(result.error)}`);
  if (expectation.mentions !== undefined && !result.error.details.includes(expectation.mentions)) {
    fail(
      `${what}: expected ${expected} with a message naming ${quote(expectation.mentions)}, got ${describeOutcome(result.error)}`,
    );
  }
  return result.error;
}

/** Like expectCode, but returns a problem sentence instead of failing, so a check can list several. */
export async function codeProblem(
  what: string,
  call: Promise<unknown>,
  code: number | readonly number[],
): Promise<string | undefined> {
  try {
    await expectCode(what, call, code);
    return undefined;
  } catch (err) {
    if (err instanceof Error && err.name === "CheckFailed") return err.message;
    throw err;
  }
}

/** Fails with every problem found, or returns when there is none. */
export function failIfAny(problems: readonly (string | undefined)[]): void {
  const found = problems.filter((p): p is string => p !== undefined);
  if (found.length > 0) fail(found.join("; "));
}

export function expectState(what: string, got: State, expected: State | readonly State[]): void {
  const list = typeof expected === "number" ? [expected] : expected;
  if (!list.includes(got)) fail(`${what}: expected state ${list.map(stateName).join(" or ")}, got ${stateName(got)}`);
}

export const TRANSITIONAL: readonly State[] = [State.STATE_STARTING, State.STATE_STOPPING];

export interface StreamOutcome<T> {
  messages: T[];
  /** Undefined when the stream ended OK. */
  error?: ClientError;
}

/**
 * Reads a server stream to its end, keeping every message and the final
 * status; a stream larger than a check keeps fails the check ("stream too
 * large", kept-output.ts) and is cancelled.
 */
export async function drain<T>(stream: AsyncIterable<T>, what = "a stream"): Promise<StreamOutcome<T>> {
  const messages: T[] = [];
  const budget = new StreamBudget(what);
  try {
    for await (const message of stream) {
      budget.add(message);
      messages.push(message);
    }
    return { messages };
  } catch (err) {
    if (err instanceof ClientError) return { messages, error: err };
    throw err;
  }
}

/** Progress events must each carry a step, a percent of at most 100, never going back. */
export function progressProblem(
  what: string,
  events: readonly { progress?: Progress | undefined }[],
): string | undefined {
  let last = -1;
  for (const [i, event] of events.entries()) {
    const p = event.progress;
    if (!p) return `${what}: event ${i + 1} carries no progress`;
    if (p.step === "") return `${what}: event ${i + 1} has an empty step name (message ${quote(p.message)})`;
    if (p.percent > 100) return `${what}: event ${i + 1} (${quote(p.step)}) says ${p.percent}%, over 100`;
    if (p.percent < last)
      return `${what}: progress went backwards, from ${last}% to ${p.percent}% at event ${i + 1} (${quote(p.step)})`;
    last = p.percent;
  }
  return undefined;
}

/** The stream must end OK with well-formed progress; returns its messages. */
export async function expectStreamOk<T extends { progress?: Progress | undefined }>(
  what: string,
  stream: AsyncIterable<T>,
): Promise<T[]> {
  const result = await drain(stream, what);
  if (result.error) fail(`${what}: expected the stream to end OK, got ${describeOutcome(result.error)}`);
  const problem = progressProblem(what, result.messages);
  if (problem) fail(problem);
  return result.messages;
}

/** A stream's end as a promise: resolves when it ends OK, rejects with its status otherwise. */
export async function ended(stream: AsyncIterable<unknown>): Promise<void> {
  const result = await drain(stream);
  if (result.error) throw result.error;
}

/** Polls GetState until it is no transitional state (STARTING, STOPPING), up to `timeoutMs`; returns it. */
export async function settledState(
  what: string,
  getState: () => Promise<{ state: State }>,
  timeoutMs: number,
): Promise<State> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { state } = await expectOk(`GetState ${what}`, getState());
    if (!TRANSITIONAL.includes(state)) return state;
    if (Date.now() > deadline)
      fail(`GetState ${what}: expected a resting state, still ${stateName(state)} after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
