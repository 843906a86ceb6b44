// What the connection needs from the thing its bytes travel over: a duplex
// byte stream, a name for messages, the reason it ended, and a way to end it.
// The local Unix socket and `ssh ... virt-ssh-helper` are the two kinds.
import type { Duplex } from "node:stream";

export interface Transport {
  readonly stream: Duplex;
  /** For messages: "the session daemon at /run/user/0/libvirt/libvirt-sock". */
  readonly label: string;
  /** Once the stream has closed: why, in a sentence (an exit status, the tail of ssh's stderr). */
  endReason(): Promise<string>;
  /** Ends it now; idempotent. */
  close(): void;
}
