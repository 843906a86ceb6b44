// The guest side of the owner's SSH channel, for cloud images (the seed
// carries it; python3 is there, cloud-init needs it): a long-lived program that
// holds the dp.ssh virtio-serial port open and, each time the host end
// connects, runs `sshd -i` for that one session, joined to the port.
//
// Why a program and not a shell loop: a guest's write to the port blocks
// while the host end is away, so an SSH server left writing when its client
// went (a killed session, or the driver's probe that reads the banner and
// leaves) would hand its stale bytes to the next client, which then fails.
// This program never blocks on the port (O_NONBLOCK, poll): when poll says the
// host end is gone (POLLHUP), it kills the session and drops what it held.
export const SSH_RELAY_SCRIPT = "driverplug-ssh-relay.py";

export const SSH_RELAY_SOURCE = `#!/usr/bin/python3
# driverplug: SSH for the machine's owner over the dp.ssh virtio-serial port.
import os, select, signal, subprocess, time

PORT = "/dev/virtio-ports/dp.ssh"
SSHD = "/usr/sbin/sshd"


def session(fd):
    proc = subprocess.Popen([SSHD, "-i"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, bufsize=0)
    to_port = b""
    to_sshd = b""
    out, inp = proc.stdout.fileno(), proc.stdin.fileno()
    os.set_blocking(out, False)
    os.set_blocking(inp, False)
    sshd_done = False
    try:
        while True:
            poller = select.poll()
            poller.register(fd, select.POLLIN | (select.POLLOUT if to_port else 0))
            if not sshd_done:
                poller.register(out, select.POLLIN)
            if to_sshd:
                poller.register(inp, select.POLLOUT)
            for f, ev in poller.poll(1000):
                if f == fd and ev & select.POLLHUP:
                    return
                if f == fd and ev & select.POLLIN and len(to_sshd) < 1 << 20:
                    try:
                        data = os.read(fd, 65536)
                    except BlockingIOError:
                        data = None
                    if data == b"":
                        return
                    if data:
                        to_sshd += data
                if f == fd and ev & select.POLLOUT and to_port:
                    try:
                        to_port = to_port[os.write(fd, to_port):]
                    except BlockingIOError:
                        pass
                if f == out and ev & (select.POLLIN | select.POLLHUP) and len(to_port) < 1 << 20:
                    data = os.read(out, 65536)
                    if data == b"":
                        sshd_done = True
                    to_port += data
                if f == inp and ev & select.POLLOUT and to_sshd:
                    try:
                        to_sshd = to_sshd[os.write(inp, to_sshd):]
                    except (BlockingIOError, BrokenPipeError):
                        to_sshd = b""
            if sshd_done and not to_port:
                # The client reads the end of the session and leaves; wait for that (dropping what it
                # still sends), then start afresh.
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    p = select.poll()
                    p.register(fd, select.POLLIN)
                    for _, ev in p.poll(200):
                        if ev & select.POLLHUP:
                            return
                        try:
                            os.read(fd, 65536)
                        except BlockingIOError:
                            pass
                return
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    fd = os.open(PORT, os.O_RDWR | os.O_NONBLOCK)
    while True:
        p = select.poll()
        p.register(fd, select.POLLIN | select.POLLOUT)
        events = p.poll(1000)
        if not events or any(ev & select.POLLHUP for _, ev in events):
            time.sleep(0.2)
            continue
        session(fd)


main()
`;
