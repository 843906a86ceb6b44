// Raises a grpc-js server's HTTP/2 receive windows (per stream and per
// connection), so a host can send a large message (SetConfig with a big
// config) without waiting for a window update every 64 KiB.
//
// Why a shim: grpc-js 1.14 reads 'grpc-node.flow_control_window' on clients
// only; its server makes its node:http2 server with fixed settings and offers
// no hook to change them or to see its sessions. So this wraps the server's
// private createHttp2Server method, and then uses only public node:http2 API
// on the http2 server it returns (updateSettings for the stream window, each
// session's setLocalWindowSize for the connection window). It goes away when
// grpc-js honours the window option on servers too (or exposes its
// node:http2 server options). If grpc-js renames the method, the server keeps
// working with the default windows and a warning is logged;
// test/plugin/transport-limits.test.ts notices it. So driverplug accepts
// grpc-js only up to the next minor of the version that test passed on (the
// peer range in package.json, which the same test checks).
import type { Server, ServerCredentials } from "@grpc/grpc-js";
import type { ServerHttp2Session, Settings } from "node:http2";
import type { Logger } from "./logger.js";

/** What node:http2's Http2Server and Http2SecureServer both offer. */
interface Http2ServerLike {
  updateSettings(settings: Settings): void;
  on(event: "session", listener: (session: ServerHttp2Session) => void): unknown;
}

interface Http2ServerFactory {
  createHttp2Server?: (credentials: ServerCredentials) => Http2ServerLike;
}

/**
 * Call before bindAsync. `onSession` sees every connection the server accepts
 * (the idle exit of a warm plugin counts them); it is not called when the
 * shim cannot hook in, which the warning says.
 */
export function raiseReceiveWindow(
  server: Server,
  bytes: number,
  log: Logger,
  onSession?: (session: ServerHttp2Session) => void,
): void {
  const inner = server as unknown as Http2ServerFactory;
  const create = inner.createHttp2Server;
  if (typeof create !== "function") {
    log.warn(
      "cannot raise the HTTP/2 receive window: this grpc-js has no createHttp2Server; large messages will be slower",
      { bytes },
    );
    return;
  }
  inner.createHttp2Server = function (this: Server, credentials: ServerCredentials): Http2ServerLike {
    const http2Server = create.call(this, credentials);
    http2Server.updateSettings({ initialWindowSize: bytes });
    http2Server.on("session", (session) => {
      session.setLocalWindowSize(bytes);
      onSession?.(session);
    });
    return http2Server;
  };
}
