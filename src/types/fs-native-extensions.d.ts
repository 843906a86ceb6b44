// The part of fs-native-extensions (which ships no types) the machine lock uses.
declare module "fs-native-extensions" {
  /** Takes an exclusive (or, with shared, a shared) lock on the open file; false if another holds it. */
  export function tryLock(fd: number, offset?: number, length?: number, opts?: { shared?: boolean }): boolean;
  export function unlock(fd: number, offset?: number, length?: number): void;
}
