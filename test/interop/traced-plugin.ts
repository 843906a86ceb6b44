// The interop hosts' tracing case: a driverplug plugin served with
// driverplug/otel's server middleware (the fake driver, no OpenTelemetry SDK
// in the plugin), a W3C traceparent for the host to send, and the JSON log
// lines to look for the trace id in.
import { fileURLToPath } from "node:url";

export const TRACED_FAKE_PLUGIN = fileURLToPath(new URL("../fixtures/plugins/traced-fake-driver.mjs", import.meta.url));
export const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
export const PARENT_SPAN_ID = "00f067aa0ba902b7";
export const TRACEPARENT = `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`;

/** Every line of `text` that is a JSON object. */
export function pluginLogLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // Not a log line.
    }
  }
  return out;
}
