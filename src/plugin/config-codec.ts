// The driver side of the JSON config codec: a config that does not parse is
// INVALID_ARGUMENT, the status SetConfig and UpdateConfig answer with.
import { makeJsonConfig, type ConfigCodec, type ConfigValidator } from "../protocol/config-json.js";
import { invalidArgument } from "./driver-error.js";

/**
 * `jsonConfig(validate)`: `decode(configJson)` parses and validates (errors
 * are INVALID_ARGUMENT), `encode(config)` gives the bytes for GetConfig.
 */
export function jsonConfig<T = Record<string, unknown>>(validate?: ConfigValidator<T>): ConfigCodec<T> {
  return makeJsonConfig(validate, (message, cause) => invalidArgument(message, { cause }));
}

export type { ConfigCodec, ConfigValidator };
