// Plugin protocol (app) version negotiation, as go-plugin does it: the host
// lists the versions it speaks in PLUGIN_PROTOCOL_VERSIONS, the plugin picks
// the highest one both speak.

/** The app versions of the driver contract this release speaks. */
export const PROTOCOL_VERSIONS: readonly number[] = Object.freeze([1]);

export class VersionMismatchError extends Error {
  override name = "VersionMismatchError";
  constructor(
    readonly ours: readonly number[],
    readonly theirs: readonly number[],
  ) {
    super(
      `no common plugin protocol version: this side speaks ${list(ours)}, the other side offers ${list(theirs)}; ` +
        `upgrade the older of host and plugin`,
    );
  }
}

function list(versions: readonly number[]): string {
  return versions.length === 0 ? "none" : `[${versions.join(", ")}]`;
}

/**
 * Parses a comma-separated version list such as "1,2". Blank entries are
 * ignored (go-plugin tolerates a trailing comma); anything else that is not a
 * positive integer is an error naming the entry.
 */
export function parseVersionList(text: string): number[] {
  const out: number[] = [];
  for (const raw of text.split(",")) {
    const item = raw.trim();
    if (item === "") continue;
    if (!/^[0-9]{1,9}$/.test(item) || Number(item) === 0) {
      throw new Error(
        `invalid protocol version ${JSON.stringify(item)} in ${JSON.stringify(text)}: expected positive integers separated by commas, e.g. "1,2"`,
      );
    }
    out.push(Number(item));
  }
  return out;
}

/** The highest version in both lists; throws VersionMismatchError when none. */
export function negotiateVersion(ours: readonly number[], theirs: readonly number[]): number {
  const common = ours.filter((v) => theirs.includes(v));
  if (common.length === 0) throw new VersionMismatchError(ours, theirs);
  return Math.max(...common);
}
