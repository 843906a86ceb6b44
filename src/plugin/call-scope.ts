// Log fields that belong to one call: a middleware (the tracing one adds
// trace_id and span_id) runs the rest of the call through withLogFields(),
// and every line the plugin's loggers write while that call's code runs
// carries them. Kept in an AsyncLocalStorage that only such a middleware
// enters: in Node 20 the first use of one turns on promise hooks for the
// whole process, which a plugin that never asks for log fields should not pay.
import { AsyncLocalStorage } from "node:async_hooks";
import type { LogFields } from "./logger.js";

const scope = new AsyncLocalStorage<LogFields>();

/**
 * The rest of the call (a middleware's `call.next(...)`), with `fields` on
 * every log line its code writes (on top of fields an outer middleware set):
 *
 * ```ts
 * const tagged: ServerMiddleware = async function* (call, ctx) {
 *   return yield* withLogFields({ request_id: id(ctx) }, call.next(call.request, ctx));
 * };
 * ```
 */
export async function* withLogFields<T, R>(
  fields: LogFields,
  steps: AsyncGenerator<T, R, undefined>,
): AsyncGenerator<T, R, undefined> {
  const all = { ...scope.getStore(), ...fields };
  // A generator's body runs in the context of whoever resumes it, so every step is run in the scope.
  let finished = false;
  try {
    for (;;) {
      const step = await scope.run(all, () => steps.next());
      if (step.done) {
        finished = true;
        return step.value;
      }
      yield step.value;
    }
  } catch (err) {
    finished = true;
    throw err;
  } finally {
    // Closed early (the call was aborted): close the rest of the call too.
    if (!finished) await scope.run(all, () => steps.return(undefined as R)).catch(() => undefined);
  }
}

/** The current call's log fields, if a middleware set any. */
export function callLogFields(): LogFields | undefined {
  return scope.getStore();
}
