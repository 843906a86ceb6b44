// plugin.GRPCStdio: streams what the driver writes to stdout and stderr to
// the host, as go-plugin does.
import { StdioData_Channel, type GRPCStdioService } from "../../generated/plugin/grpc_stdio.js";
import type { ServiceHandlers } from "./handler-types.js";
import type { StdioCapture } from "./stdio-capture.js";

export function stdioHandlers(capture: StdioCapture): ServiceHandlers<GRPCStdioService> {
  return {
    async *streamStdio(_request, { signal }) {
      for await (const chunk of capture.subscribe(signal)) {
        yield {
          channel: chunk.channel === "stdout" ? StdioData_Channel.STDOUT : StdioData_Channel.STDERR,
          data: chunk.data,
        };
      }
    },
  };
}
