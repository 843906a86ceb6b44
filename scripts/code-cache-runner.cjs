// Runs a plugin bundle made by bundle-plugin.mjs with the V8 code cache that
// the build left next to it: Node 20 has no module.enableCompileCache(), so
// this does by hand what it would do. It is copied next to each bundle as
// <name>.cjs and run as `node <name>.cjs args...`; the bundle is
// <name>.bundle.cjs and its cache <name>.bundle.cjs.v8cache.
//
// The cache is only an optimisation. A missing, unreadable, foreign or stale
// one (other bundle, other Node or V8 flags) is ignored and the bundle is
// compiled normally. A cache file that another user could have written is
// never handed to V8: it must belong to this process's user and not be group-
// or other-writable. DRIVERPLUG_TRACE=1 says on stderr whether the cache was
// used and if not, why.
//
// A cache fits only the Node, V8 flags and user that made it, so it is never
// shipped: the first run on the user's machine that finds none usable writes
// one at exit (so it holds what that run compiled), and later runs use it.
// The build does the same on purpose (bundle-plugin.mjs runs the bundle once
// with DRIVERPLUG_WRITE_CODE_CACHE=1). The cache lives next to the bundle when
// this user owns the bundle's folder, else in this user's own cache folder
// ($XDG_CACHE_HOME/driverplug or ~/.cache/driverplug, 0700), e.g. for a global
// install owned by root. DRIVERPLUG_NO_CODE_CACHE=1 neither reads nor writes.
//
// With --enable-source-maps (NODE_OPTIONS works too) the bundle is loaded with
// require() instead, so Node maps stack traces to the sources through the
// bundle's .map file; that parse costs start-up time, hence opt-in.
"use strict";
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const vm = require("node:vm");
const Module = require("node:module");
const path = require("node:path");

// The first line of every bundle: this marker and a hash of the rest, which
// the cache file repeats in its header so a cache never outlives its bundle.
const STAMP = "//driverplug-bundle:";
const WRITE_CACHE = "DRIVERPLUG_WRITE_CODE_CACHE";

const bundle = __filename.replace(/\.cjs$/, ".bundle.cjs");
const cacheFile = cachePath();
// The plugin sees itself as the bundle: argv[1] names the file that runs.
process.argv[1] = bundle;

if (process.sourceMapsEnabled) {
  if (process.env.DRIVERPLUG_TRACE) trace("not used: source maps are on, so the bundle loads through require()");
  require(bundle);
} else {
  runCached();
}

function runCached() {
  // bundle-plugin.mjs writes ASCII only, so latin1 reads it exactly, and quicker.
  const source = fs.readFileSync(bundle, "latin1");
  const stamp = source.slice(0, source.indexOf("\n"));
  const cache =
    process.env.DRIVERPLUG_NO_CODE_CACHE === "1"
      ? { why: "DRIVERPLUG_NO_CODE_CACHE=1", off: true }
      : !stamp.startsWith(STAMP)
        ? { why: "the bundle has no stamp line", off: true }
        : readOwnCache(stamp);
  const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData: cache.data });
  const used = cache.data !== undefined && !script.cachedDataRejected;
  if (process.env.DRIVERPLUG_TRACE)
    trace(cache.data === undefined ? `not used: ${cache.why}` : script.cachedDataRejected ? "rejected by V8" : "used");
  const forced = process.env[WRITE_CACHE] === "1";
  delete process.env[WRITE_CACHE];
  if (forced || (!used && !cache.off)) {
    // At exit the cache also holds every function the run compiled lazily.
    // A cache is only an optimisation: failing to write one never fails the run.
    process.once("exit", () => {
      try {
        writeCache(stamp, script.createCachedData());
      } catch (err) {
        if (forced) throw err;
        if (process.env.DRIVERPLUG_TRACE) trace(`not written: ${err.code ?? err.message}`);
      }
    });
  }
  const module = new Module(bundle, null);
  module.filename = bundle;
  module.paths = Module._nodeModulePaths(path.dirname(bundle));
  require.cache[bundle] = module;
  const wrapper = script.runInThisContext();
  wrapper.call(module.exports, module.exports, Module.createRequire(bundle), module, bundle, path.dirname(bundle));
  module.loaded = true;
}

/** `{ data }` when the cache is ours, safe and made for this bundle; else `{ why }` not. */
function readOwnCache(stamp) {
  let fd;
  try {
    fd = fs.openSync(cacheFile, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    return { why: `cannot open ${cacheFile} (${err.code})` };
  }
  try {
    // fstat the open file, so the checks and the read see the same file.
    const st = fs.fstatSync(fd);
    const uid = typeof process.getuid === "function" ? process.getuid() : st.uid;
    if (!st.isFile()) return { why: `${cacheFile} is not a regular file` };
    if (st.uid !== uid) return { why: `${cacheFile} belongs to uid ${st.uid}, not to this user (${uid})` };
    if ((st.mode & 0o022) !== 0) return { why: `${cacheFile} is writable by group or others` };
    const data = Buffer.allocUnsafe(st.size);
    let read = 0;
    while (read < st.size) {
      const n = fs.readSync(fd, data, read, st.size - read, read);
      if (n === 0) break;
      read += n;
    }
    const stampEnd = data.indexOf(10);
    const sumEnd = data.indexOf(10, stampEnd + 1);
    if (read !== st.size || stampEnd < 0 || sumEnd < 0 || data.toString("latin1", 0, stampEnd) !== stamp) {
      return { why: `${cacheFile} was made for another build of the bundle` };
    }
    const payload = data.subarray(sumEnd + 1);
    // V8 does not checksum cached data in release builds: a flipped byte
    // would crash its deserializer, so the file carries its own checksum.
    if (data.toString("latin1", stampEnd + 1, sumEnd) !== checksum(payload))
      return { why: `${cacheFile} is damaged (checksum mismatch)` };
    return { data: payload };
  } catch (err) {
    return { why: `cannot read ${cacheFile} (${err.code ?? err.message})` };
  } finally {
    fs.closeSync(fd);
  }
}

/** Guards against accidental damage only (ownership guards against others); crypto is loaded by http2 anyway. */
function checksum(payload) {
  return createHash("sha1").update(payload).digest("hex");
}

function trace(what) {
  process.stderr.write(`driverplug code cache: ${what}\n`);
}

/**
 * Next to the bundle when this user owns its folder (a local install, a
 * build); else a file named after the bundle's path in this user's cache folder.
 */
function cachePath() {
  const here = `${bundle}.v8cache`;
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  try {
    if (uid === undefined || fs.statSync(path.dirname(bundle)).uid === uid) return here;
  } catch {
    return here;
  }
  const base = process.env.XDG_CACHE_HOME || path.join(require("node:os").homedir(), ".cache");
  const key = createHash("sha256").update(bundle).digest("hex").slice(0, 16);
  return path.join(base, "driverplug", `${path.basename(bundle)}-${key}.v8cache`);
}

/** A folder for the cache that only this user can write: made 0700 if missing, refused if another could write it. */
function checkCacheDir(dir) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  const uid = typeof process.getuid === "function" ? process.getuid() : st.uid;
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0)
    throw new Error(`${dir} is not a folder that only this user can write`);
}

function writeCache(stamp, data) {
  if (cacheFile !== `${bundle}.v8cache`) checkCacheDir(path.dirname(cacheFile));
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  fs.rmSync(tmp, { force: true });
  // "wx": never through a file or symlink someone left at the temporary name.
  fs.writeFileSync(tmp, Buffer.concat([Buffer.from(`${stamp}\n${checksum(data)}\n`), data]), {
    mode: 0o644,
    flag: "wx",
  });
  fs.renameSync(tmp, cacheFile);
}
