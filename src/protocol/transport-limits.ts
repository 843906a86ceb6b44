// The gRPC message size limit both sides use by default, and the host's HTTP/2
// receive window. grpc-js's own defaults are a 4 MiB receive limit (a driver
// config over it failed) and HTTP/2's 64 KiB windows; the plugin keeps its.

/** Largest message either side sends or accepts: a whole driver config travels as one. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * The host's HTTP/2 receive window, per stream and per connection. A stream
 * whose reader stops holds up to a window of the plugin's DATA frames, and
 * Node keeps each frame as a Buffer of its own (about 240 bytes each, however
 * small the frame): a 16 MiB window of 7-byte messages pinned over 500 MiB
 * for one unread WatchState. 256 KiB keeps that under about 64 MiB even for
 * 1-byte frames, and a 1 MiB answer still streams in over a few window updates.
 */
export const DEFAULT_RECEIVE_WINDOW_BYTES = 256 * 1024;

/**
 * A plugin's HTTP/2 receive window (per stream and per connection): what its
 * host may send before waiting for a window update. The plugin's peer is its
 * own host, so the window can be large: a 1 MiB SetConfig goes in one burst.
 */
export const PLUGIN_RECEIVE_WINDOW_BYTES = 16 * 1024 * 1024;

/** HTTP/2's largest window (RFC 9113, 6.9.1). */
export const MAX_RECEIVE_WINDOW_BYTES = 2 ** 31 - 1;

/** Throws a sentence naming the option when `bytes` is not a usable size. */
export function checkByteSize(option: string, bytes: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(bytes) || bytes < 65_535 || bytes > max) {
    throw new RangeError(`${option} must be a whole number of bytes from 65535 to ${max}; got ${bytes}`);
  }
  return bytes;
}
