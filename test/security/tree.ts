// Lists every path under a directory (not following symlinks), so a test can
// prove an attack left nothing behind: no socket, no directory, no file.
import { readdir } from "node:fs/promises";
import { join } from "node:path";

export async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    out.push(path);
    if (entry.isDirectory()) out.push(...(await tree(path)));
  }
  return out.sort();
}
