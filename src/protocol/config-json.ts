// The driver config as it travels (GetConfig, SetConfig, UpdateConfig): UTF-8
// JSON bytes. One codec for both sides, so nobody writes
// Buffer.from(JSON.stringify(...)) by hand and every refusal reads the same.
// Each side picks the error a bad config becomes (a plugin's is
// INVALID_ARGUMENT, so SetConfig answers with the right status).

export interface ConfigCodec<T> {
  /** The config as UTF-8 JSON bytes, ready for `configJson`. */
  encode(config: T): Buffer;
  /** Parses and (with a validator) checks `configJson`; a bad config throws a message naming the problem. */
  decode(bytes: Uint8Array): T;
}

/**
 * A validator returns the typed config or throws (its error reaches the
 * caller unchanged: a driver throws invalidArgument naming the field). The
 * default accepts any JSON object.
 */
export type ConfigValidator<T> = (value: unknown) => T;

export type InvalidConfig = (message: string, cause?: unknown) => Error;

const utf8 = new TextDecoder("utf-8", { fatal: true });

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return `a ${typeof value}`;
}

export function makeJsonConfig<T>(validate: ConfigValidator<T> | undefined, invalid: InvalidConfig): ConfigCodec<T> {
  const anyObject = (value: unknown): T => {
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw invalid(`config must be a JSON object, got ${describe(value)}`);
    return value as T;
  };
  const check = validate ?? anyObject;
  return {
    encode(config) {
      let text: string | undefined;
      try {
        text = JSON.stringify(config);
      } catch (err) {
        throw new TypeError(`config cannot be written as JSON: ${(err as Error).message}`, { cause: err });
      }
      if (text === undefined) throw new TypeError(`config cannot be written as JSON: it is ${describe(config)}`);
      return Buffer.from(text, "utf8");
    },
    decode(bytes) {
      if (bytes.length === 0) throw invalid("config is empty: send the machine's config as a JSON object");
      let value: unknown;
      try {
        value = JSON.parse(utf8.decode(bytes));
      } catch (err) {
        throw invalid(`config is not valid JSON (UTF-8 text): ${(err as Error).message}`, err);
      }
      return check(value);
    },
  };
}
