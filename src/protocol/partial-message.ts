// What a handler may return instead of a whole message: any field may be left
// out and takes its proto default (0, "", false, [], unset), as nice-grpc and
// protobuf-es allow. driverplug's own type, so ts-proto's helpers stay out of
// the public API; the plugin fills the defaults in before it serializes.

/** `T` with every field optional, down through nested messages, lists and oneofs. */
export type PartialMessage<T> = T extends bigint
  ? bigint | number
  : T extends Uint8Array
    ? Uint8Array
    : T extends string | number | boolean | undefined | null
      ? T
      : T extends ReadonlyArray<infer U>
        ? ReadonlyArray<PartialMessage<U>>
        : T extends { $case: string; value: unknown }
          ? { $case: T["$case"]; value: PartialMessage<T["value"]> }
          : { [K in keyof T]?: PartialMessage<T[K]> };
