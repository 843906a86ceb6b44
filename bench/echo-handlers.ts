// Server-side handlers of the bench EchoService, shared by every server the
// bench starts so each contender does exactly the same work per call.
import type { ServerUnaryCall, ServerWritableStream, sendUnaryData, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { BurstRequest, EchoMessage } from "./echo-service.js";

export const echoHandlers: UntypedServiceImplementation = {
  Echo(call: ServerUnaryCall<EchoMessage, EchoMessage>, callback: sendUnaryData<EchoMessage>) {
    callback(null, { payload: call.request.payload });
  },
  Burst(call: ServerWritableStream<BurstRequest, EchoMessage>) {
    const payload = Buffer.alloc(call.request.size, 0x61);
    let sent = 0;
    // Honour back-pressure: write until the stream buffers, resume on drain.
    const pump = () => {
      while (sent < call.request.count) {
        sent++;
        if (!call.write({ payload })) {
          call.once("drain", pump);
          return;
        }
      }
      call.end();
    };
    pump();
  },
};
