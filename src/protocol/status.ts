// driverplug's own gRPC status codes, so neither a driver nor a host needs
// grpc-js's `status`: the numbers are gRPC's (a test pins them to grpc-js's),
// the names are what messages print ("NOT_FOUND" rather than 5).

/** A gRPC status code, e.g. `Code.NOT_FOUND`. */
export enum Code {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/** The code of a number another library reported; anything unknown is UNKNOWN, as gRPC says. */
export function toCode(value: number): Code {
  return Number.isInteger(value) && value >= Code.OK && value <= Code.UNAUTHENTICATED ? (value as Code) : Code.UNKNOWN;
}

export function statusName(code: number): string {
  return Number.isInteger(code) && Code[code] !== undefined ? Code[code] : `code ${code}`;
}
