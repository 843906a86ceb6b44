// Comments point at the repository's own documents (docs/architecture.md,
// docs/protocol.md, the .proto), never at files a reader of a checkout does
// not have: the design notes the project started from lived outside it.
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const FOLDERS = ["src", "test", "bench", "scripts", "examples", "proto"];
// Spelled in pieces so this file does not match itself.
const OUTSIDE = [
  ["DESIGN", ".md"],
  ["CONTEXT", ".md"],
  ["STYLE", ".md"],
  ["/work/", "shared"],
  ["../", "shared/"],
].map((parts) => parts.join(""));

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.(ts|mts|mjs|cjs|js|go|py|proto|sh)$|^driverplug-driver-/.test(entry.name)) {
      out.push(join(entry.parentPath, entry.name));
    }
  }
  return out;
}

describe("references", () => {
  it("no source, test or script names a file outside the repository", async () => {
    const found: string[] = [];
    for (const folder of FOLDERS) {
      for (const file of await files(join(REPO, folder))) {
        const lines = (await readFile(file, "utf8")).split("\n");
        lines.forEach((line, i) => {
          for (const name of OUTSIDE) if (line.includes(name)) found.push(`${relative(REPO, file)}:${i + 1}: ${name}`);
        });
      }
    }
    expect(found).toEqual([]);
  });

  it("docs/architecture.md is there, next to docs/protocol.md", async () => {
    const docs = await readdir(join(REPO, "docs"));
    expect(docs).toEqual(expect.arrayContaining(["architecture.md", "protocol.md"]));
  });
});
