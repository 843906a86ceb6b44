// What the fast `status` bundle (fast-main.ts) gets for @grpc/grpc-js: the
// generated modules' message codecs and enums are all it uses of them, and
// their one top-level grpc-js call (the client constructor) must not load
// grpc-js and node:http2's whole client stack just to be thrown away. The
// build aliases @grpc/grpc-js to this file for that bundle alone, so a
// module of the fast path that imports anything else from grpc-js fails the
// build ("No matching export") instead of reaching users.
//
// Metadata is here because the host's errors carry one (LaunchError, from the
// checks shared with reattach()): the fast path never shows such an error,
// it declines and the full CLI runs the command and reports what it finds.
export class Client {
  constructor() {
    throw new Error("the fast status path has no grpc-js client; this is a driverplug bug");
  }
}

export function makeGenericClientConstructor(): typeof Client {
  return Client;
}

export class Metadata {
  clone(): Metadata {
    return new Metadata();
  }
}
