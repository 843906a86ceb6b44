// The grpc-js channel options of a plugin's connection: a deliberate message
// size limit (grpc-js's default 4 MiB receive limit failed on large configs)
// and a 256 KiB HTTP/2 receive window: four times grpc-js's, so a large answer
// (GetConfig) needs few window updates, yet small enough that a stream the
// caller stops reading holds a bounded amount of host memory; channelz off.
import type { ChannelOptions } from "@grpc/grpc-js";
import {
  checkByteSize,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_RECEIVE_WINDOW_BYTES,
  MAX_RECEIVE_WINDOW_BYTES,
} from "../protocol/transport-limits.js";

export interface TransportOptions {
  /** Largest gRPC message the host sends or accepts; default 64 MiB (a whole config is one message). */
  maxMessageBytes?: number;
  /**
   * HTTP/2 receive window per stream and per connection; default 256 KiB (grpc-js's is 64 KiB). It bounds
   * what an unread server stream holds: about 240 bytes of host memory per DATA frame the window lets in.
   */
  receiveWindowBytes?: number;
}

/** Throws a RangeError naming the option when a size is unusable. */
export function transportChannelOptions(options: TransportOptions): ChannelOptions {
  const maxMessage = checkByteSize("maxMessageBytes", options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
  return {
    "grpc.max_receive_message_length": maxMessage,
    "grpc.max_send_message_length": maxMessage,
    "grpc-node.flow_control_window": checkByteSize(
      "receiveWindowBytes",
      options.receiveWindowBytes ?? DEFAULT_RECEIVE_WINDOW_BYTES,
      MAX_RECEIVE_WINDOW_BYTES,
    ),
    // Nothing reads channelz in a host, and its bookkeeping is paid on every call.
    "grpc.enable_channelz": 0,
  };
}
