// What the demos print around each step: a command's own output, indented so
// the steps stand out.
import { Writable } from "node:stream";

/** A stream that writes everything to `target` with each line indented four spaces. */
export function indented(target: NodeJS.WritableStream): NodeJS.WritableStream {
  let atLineStart = true;
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      let out = "";
      for (const ch of chunk.toString("utf8")) {
        if (atLineStart && ch !== "\n") out += "    ";
        out += ch;
        atLineStart = ch === "\n";
      }
      target.write(out, () => done());
    },
  });
}
