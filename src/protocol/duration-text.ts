// Durations as people read them in messages: "600 s", "1.5 s", "0.25 s",
// never "600000 ms". Both sides (and the CLI) word deadlines and waits so.

/** `ms` milliseconds in seconds, with at most two decimals and no trailing zeros: 600000 -> "600 s". */
export function formatSeconds(ms: number): string {
  if (!Number.isFinite(ms)) return "no limit";
  const seconds = Math.max(0, ms) / 1000;
  const text = seconds >= 100 ? String(Math.round(seconds)) : String(Number(seconds.toFixed(2)));
  return `${text} s`;
}
