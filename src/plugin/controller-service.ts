// plugin.GRPCController: go-plugin's Shutdown call. The answer goes out
// first; the graceful stop starts right after.
import type { GRPCControllerService } from "../../generated/plugin/grpc_controller.js";
import type { ServiceHandlers } from "./handler-types.js";

export function controllerHandlers(requestStop: (why: string) => void): ServiceHandlers<GRPCControllerService> {
  return {
    async shutdown() {
      setImmediate(() => requestStop("the host called Shutdown"));
      return {};
    },
  };
}
