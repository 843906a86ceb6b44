// Builds a handler's CallContext from a grpc-js call: its signal fires when
// the client cancels, when the deadline passes or when someone else (Kill,
// shutdown) aborts the call. dispose() clears the deadline timer and listeners.
import type { Metadata } from "@grpc/grpc-js";
import type { EventEmitter } from "node:events";
import { cancelled, deadlineExceeded } from "./driver-error.js";
import type { CallContext } from "./handler-types.js";

interface ServerCallLike extends EventEmitter {
  metadata: Metadata;
  getDeadline(): Date | number;
}

export interface ActiveCall {
  ctx: CallContext;
  controller: AbortController;
  dispose(): void;
}

export function callContext(call: ServerCallLike, method: string): ActiveCall {
  const controller = new AbortController();
  const deadline = deadlineMs(call.getDeadline());
  const expire = () => controller.abort(deadlineExceeded(`the deadline of ${method} passed`));
  let timer: NodeJS.Timeout | undefined;
  if (Number.isFinite(deadline)) {
    const left = deadline - Date.now();
    if (left <= 0) expire();
    else timer = setTimeout(expire, Math.min(left, 2 ** 31 - 1));
  }
  const onCancel = () => {
    if (Number.isFinite(deadline) && Date.now() >= deadline) expire();
    else controller.abort(cancelled(`the client cancelled ${method}`));
  };
  call.on("cancelled", onCancel);
  return {
    ctx: { signal: controller.signal, metadata: call.metadata, method },
    controller,
    dispose() {
      clearTimeout(timer);
      call.off("cancelled", onCancel);
    },
  };
}

function deadlineMs(deadline: Date | number): number {
  return deadline instanceof Date ? deadline.getTime() : deadline;
}
