// Every relative link in the project's Markdown pages (README, CONTRIBUTING,
// SECURITY, docs/, bench/ and the test suites' READMEs) leads to a file or
// folder of the repository, and a link to a heading of a Markdown page leads
// to a heading that page has, so moving or renaming a page cannot leave a
// reader at a dead link.
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "../plugin/spawn-plugin.js";

const SKIP = new Set(["node_modules", "dist", "generated", ".git", ".bench-tmp"]);

/** The repository's Markdown pages, node_modules, dist and generated/ aside. */
async function markdownPages(dir = REPO): Promise<string[]> {
  const pages: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && !SKIP.has(entry.name)) pages.push(...(await markdownPages(path)));
    else if (entry.isFile() && entry.name.endsWith(".md")) pages.push(path);
  }
  return pages;
}

/** Link targets of a page: inline links and images, code spans and fenced blocks left out. */
function linkTargets(text: string): string[] {
  const prose = text.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
}

/** GitHub's anchor for a heading: lower case, punctuation but "-" and "_" dropped, spaces as "-". */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

async function headings(page: string): Promise<Set<string>> {
  const text = (await readFile(page, "utf8")).replace(/^```[\s\S]*?^```/gm, "");
  return new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => anchor(m[1]!)));
}

describe("relative links in the Markdown pages", () => {
  it("lead to files of the repository, and to headings those pages have", async () => {
    const pages = await markdownPages();
    expect(pages.map((p) => relative(REPO, p))).toEqual(
      expect.arrayContaining(["README.md", "CONTRIBUTING.md", "SECURITY.md", "bench/README.md", "docs/guide.md"]),
    );
    const dead: string[] = [];
    let checked = 0;
    for (const page of pages) {
      for (const target of linkTargets(await readFile(page, "utf8"))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: ...
        checked++;
        const [path = "", fragment] = target.split("#");
        const file = path === "" ? page : join(dirname(page), decodeURIComponent(path));
        const where = `${relative(REPO, page)}: (${target})`;
        const found = await stat(file).catch(() => undefined);
        if (!found) {
          dead.push(`${where}: no ${relative(REPO, file)}`);
          continue;
        }
        if (fragment !== undefined && file.endsWith(".md") && !(await headings(file)).has(fragment)) {
          dead.push(`${where}: ${relative(REPO, file)} has no heading #${fragment}`);
        }
      }
    }
    expect(dead).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(20);
  });
});
