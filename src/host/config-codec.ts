// The host side of the JSON config codec (the same encoding a plugin's
// jsonConfig reads): a config a plugin returned that does not parse is a
// plain Error naming the problem.
import { makeJsonConfig, type ConfigCodec, type ConfigValidator } from "../protocol/config-json.js";

/** `jsonConfig(validate)`: `encode(config)` for SetConfig/UpdateConfig, `decode(configJson)` for GetConfig. */
export function jsonConfig<T = Record<string, unknown>>(validate?: ConfigValidator<T>): ConfigCodec<T> {
  return makeJsonConfig(validate, (message, cause) => new Error(message, { cause }));
}

export type { ConfigCodec, ConfigValidator };
