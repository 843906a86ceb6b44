// Whether an SSH server answers at a TCP address or a Unix socket: it must
// send "SSH-" first. User-mode networking accepts a connection even with
// nobody behind the forward, and QEMU's socket for a virtio-serial port
// accepts one whether or not the guest listens on the port, so a successful
// connect alone proves nothing.
import { connect } from "node:net";

export function sshAnswers(port: number, timeoutMs = 2_000, host = "127.0.0.1"): Promise<boolean> {
  return banner(() => connect({ host, port }), timeoutMs);
}

/** The same over a Unix socket (the qemu driver's ssh.sock). */
export function sshAnswersOnSocket(path: string, timeoutMs = 5_000): Promise<boolean> {
  return banner(() => connect(path), timeoutMs);
}

function banner(open: () => ReturnType<typeof connect>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = open();
    let got = "";
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      got += chunk;
      if (got.length >= 4) done(got.startsWith("SSH-"));
    });
    socket.on("error", () => done(false));
    socket.on("close", () => done(false));
  });
}
