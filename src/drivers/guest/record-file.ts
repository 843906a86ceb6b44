// A VM machine's record file (machine.json in its private directory): what
// Create learned and later calls need. Read without following a link, only
// as a small regular file, with the fields every record has checked; written
// through the project's atomic writer, owner-only.
import { constants, promises as fs } from "node:fs";
import { writeFileAtomic } from "../../fs/atomic-write.js";
import type { Readiness } from "./bundle.js";

const MAX_RECORD_BYTES = 64 * 1024;

/** What every VM driver's record holds. */
export interface RecordBasics {
  name: string;
  bundleName: string;
  sshUser: string;
  readiness: Readiness;
}

/** The record at `path`, with `basics` plus the driver's own `strings` present as strings. */
export async function readRecordFile<R extends RecordBasics>(
  path: string,
  strings: ReadonlyArray<keyof R & string> = [],
): Promise<R> {
  const damaged = (why: string) =>
    new Error(`machine record ${path} is damaged (${why}); remove the machine and create it again`);
  const handle = await fs.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  let text: string;
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size > MAX_RECORD_BYTES) throw damaged("not a small regular file");
    text = await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw damaged("not JSON");
  }
  if (typeof value !== "object" || value === null) throw damaged("not a JSON object");
  for (const field of ["name", "sshUser", "bundleName", ...strings]) {
    if (typeof value[field] !== "string") throw damaged(`no ${field}`);
  }
  if (value.readiness !== "ssh" && value.readiness !== "virtio-serial")
    throw new Error(`machine record ${path} has an unknown readiness; remove the machine and create it again`);
  return value as unknown as R;
}

export async function writeRecordFile(path: string, record: RecordBasics): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(record, null, 2), 0o600);
}
