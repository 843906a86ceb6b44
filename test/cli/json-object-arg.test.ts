// JSON-object arguments (create --config, config update) accept objects only
// and say what was expected otherwise.
import { describe, expect, it } from "vitest";
import { CliError } from "../../src/cli/cli-error.js";
import { parseJsonObjectArg } from "../../src/cli/json-object-arg.js";

describe("parseJsonObjectArg", () => {
  it("returns the object", () => {
    expect(parseJsonObjectArg('{"cpus": 4}', "--config", "{}")).toEqual({ cpus: 4 });
  });
  it("names the argument and shows an example when the text is not JSON", () => {
    expect(() => parseJsonObjectArg("{cpus: 4}", "--config", '{"cpus": 4}')).toThrow(
      /^--config is not JSON \(.+\): give an object of config fields such as '\{"cpus": 4\}'$/,
    );
  });
  it("refuses JSON that is not an object, as a usage error", () => {
    for (const text of ["[1]", "4", "null", '"x"']) {
      const err = (() => {
        try {
          parseJsonObjectArg(text, "the argument", "{}");
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(CliError);
      expect((err as CliError).exitCode).toBe(2);
      expect((err as CliError).message).toMatch(/^the argument must be a JSON object of config fields/);
    }
  });
});
