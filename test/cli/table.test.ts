// Text tables line their columns up whatever the cell widths.
import { describe, expect, it } from "vitest";
import { renderTable } from "../../src/cli/table.js";

describe("renderTable", () => {
  it("pads every column but the last to its widest cell", () => {
    expect(
      renderTable(
        ["NAME", "STATE"],
        [
          ["m1", "Running"],
          ["longer-name", "-"],
        ],
      ),
    ).toBe(["NAME         STATE", "m1           Running", "longer-name  -"].join("\n"));
  });
  it("prints only the header when there are no rows", () => {
    expect(renderTable(["NAME", "DRIVER"], [])).toBe("NAME  DRIVER");
  });
});
