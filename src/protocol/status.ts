// gRPC status code names, for messages that say "NOT_FOUND" rather than 5.
import { status } from "@grpc/grpc-js";

const names = new Map<number, string>(
  Object.entries(status)
    .filter((e): e is [string, number] => typeof e[1] === "number")
    .map(([name, code]) => [code, name]),
);

export function statusName(code: number): string {
  return names.get(code) ?? `code ${code}`;
}
