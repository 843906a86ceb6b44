// Runs a CommonJS bundle through vm.Script with a V8 code cache next to it
// (<bundle>.v8cache): what module.enableCompileCache() does on Node 22, done
// by hand for Node 20. The cache is written at exit when missing or stale,
// so it also holds the functions compiled while the plugin started.
// Usage: node code-cache-loader.js /abs/bundle.cjs
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname } from "node:path";
import vm from "node:vm";

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write("usage: code-cache-loader.js /abs/bundle.cjs\n");
  process.exit(2);
}
const cacheFile = `${file}.v8cache`;
const cachedData = existsSync(cacheFile) ? readFileSync(cacheFile) : undefined;
const script = new vm.Script(Module.wrap(readFileSync(file, "utf8")), { filename: file, cachedData });
if (cachedData === undefined || script.cachedDataRejected) {
  process.once("exit", () => writeFileSync(cacheFile, script.createCachedData()));
}
const mod = { exports: {} };
const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void;
wrapper(mod.exports, createRequire(file), mod, file, dirname(file));
