// The request metadata key that names a call's machine, for plugins that serve
// many machines from one process (CAPABILITY_MACHINE_INSTANCES). Both sides
// read the key and its rules from here; docs/protocol.md states them for
// plugins and hosts in other languages.

/** gRPC metadata keys are lower case; a call without it goes to the default instance. */
export const MACHINE_METADATA_KEY = "driverplug-machine";

/** Longer names are refused: a machine name is a short identifier, not a payload. */
export const MAX_MACHINE_KEY_BYTES = 255;

/**
 * Why `value` cannot name a machine, or undefined when it can: 1 to 255 bytes
 * of printable ASCII (gRPC's own rule for text metadata values, minus spaces).
 */
export function machineKeyProblem(value: string): string | undefined {
  if (value === "") return "it is empty";
  if (Buffer.byteLength(value) > MAX_MACHINE_KEY_BYTES) return `it is longer than ${MAX_MACHINE_KEY_BYTES} bytes`;
  if (!/^[\x21-\x7e]+$/.test(value)) return "it has characters other than printable ASCII without spaces";
  return undefined;
}
