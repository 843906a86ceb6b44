#!/usr/bin/python3
"""Interop host in Python: launches a driverplug driver plugin by the wire
protocol alone (docs/protocol.md), runs a whole machine lifecycle over the
generated DriverService stub, shuts the plugin down with
plugin.GRPCController/Shutdown and prints one JSON summary line on stdout.

It trusts nothing in the handshake: the socket must be inside the private
directory this host made, be a socket owned by this user, mode 0600.

usage: host.py --plugin <executable> --store <abs dir> [--socket-base <dir>] [--traceparent <w3c value>]
"""

import sys
sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree

import argparse
import json
import os
import select
import shutil
import stat
import subprocess
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import stubs  # noqa: E402

COOKIE_KEY = "DRIVERPLUG_PLUGIN"
COOKIE_VALUE = "machine-driver"
API_VERSIONS = [1]
START_TIMEOUT_S = 20.0
EXIT_TIMEOUT_S = 5.0


class HostError(Exception):
    """A protocol or lifecycle failure, said as a sentence."""


def read_handshake(proc, timeout_s):
    """The plugin's first stdout line; the exit code instead if it died first."""
    deadline = time.monotonic() + timeout_s
    buf = b""
    fd = proc.stdout.fileno()
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise HostError(f"the plugin printed no handshake line within {timeout_s:.0f} s")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            code = proc.wait(timeout=EXIT_TIMEOUT_S)
            raise HostError(f"the plugin exited with code {code} before its handshake line (stdout so far: {buf!r})")
        buf += chunk
    return buf.split(b"\n", 1)[0].decode("utf-8")


def check_handshake(line, private_dir):
    """Parses and validates the line; returns (app version, socket path)."""
    fields = line.split("|")
    if len(fields) != 6:
        raise HostError(f"handshake {line!r} has {len(fields)} fields; expected 6 (a 7th only when PLUGIN_MULTIPLEX_GRPC is set, and this host does not set it)")
    core, app, network, address, protocol, cert = fields
    if core != "1":
        raise HostError(f"handshake {line!r}: core version {core!r} is not 1")
    if not app.isdigit() or int(app) not in API_VERSIONS:
        raise HostError(f"handshake {line!r}: app version {app!r} is not one this host offered ({API_VERSIONS})")
    if network != "unix" or protocol != "grpc":
        raise HostError(f"handshake {line!r}: expected network unix and protocol grpc")
    if cert != "":
        raise HostError(f"handshake {line!r}: a server certificate was printed although this host sent no client certificate")
    if not os.path.isabs(address) or os.path.dirname(address) != private_dir:
        raise HostError(f"handshake {line!r}: socket {address!r} is not directly inside the private directory {private_dir}")
    st = os.lstat(address)
    if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & 0o077:
        raise HostError(f"socket {address} has mode {stat.S_IMODE(st.st_mode):04o} and uid {st.st_uid}; expected a socket of uid {os.geteuid()} with mode 0600")
    return int(app), address


def code_of(call):
    """The status code name a call ends with ("OK" when it succeeds)."""
    import grpc

    try:
        result = call()
        if hasattr(result, "__iter__") and not hasattr(result, "SerializeToString"):
            for _ in result:
                pass
        return "OK"
    except grpc.RpcError as err:
        return err.code().name


def lifecycle(channel, s, store, summary):
    pb2 = s.driver_pb2
    d = s.driver_pb2_grpc.DriverServiceStub(channel)
    state_name = pb2.State.Name
    timeout = 30

    def record_state():
        summary["states"].append(state_name(d.GetState(pb2.GetStateRequest(), timeout=timeout).state))

    summary["driverName"] = d.GetInfo(pb2.GetInfoRequest(), timeout=timeout).driver_name
    summary["errorCodes"]["setConfigBadJSON"] = code_of(lambda: d.SetConfig(pb2.SetConfigRequest(config_json=b"{not json"), timeout=timeout))
    config = {"machineName": "m1", "storePath": store, "cpus": 2, "memoryMiB": 2048, "diskGiB": 20, "networks": ["default"], "stepDelayMs": 0}
    d.SetConfig(pb2.SetConfigRequest(config_json=json.dumps(config).encode()), timeout=timeout)
    record_state()
    summary["errorCodes"]["getIPBeforeCreate"] = code_of(lambda: d.GetIP(pb2.GetIPRequest(), timeout=timeout))

    summary["createProgress"] = [m.progress.percent for m in d.Create(pb2.CreateRequest(), timeout=timeout)]
    record_state()
    summary["errorCodes"]["createTwice"] = code_of(lambda: d.Create(pb2.CreateRequest(), timeout=timeout))

    watch = d.WatchState(pb2.WatchStateRequest(), timeout=timeout)
    summary["watched"].append(state_name(next(watch).state))
    reached_running = threading.Event()

    def follow():
        import grpc

        try:
            for msg in watch:
                summary["watched"].append(state_name(msg.state))
                if msg.state == pb2.State.Value("STATE_RUNNING"):
                    reached_running.set()
                    return
        except grpc.RpcError:
            pass

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    summary["startProgress"] = [m.progress.percent for m in d.Start(pb2.StartRequest(), timeout=timeout)]
    record_state()
    if not reached_running.wait(5):
        raise HostError("WatchState showed no change to STATE_RUNNING within 5 s of Start")
    watch.cancel()
    follower.join(5)

    summary["ip"] = d.GetIP(pb2.GetIPRequest(), timeout=timeout).ip
    d.Stop(pb2.StopRequest(), timeout=timeout)
    record_state()
    summary["errorCodes"]["getIPWhileStopped"] = code_of(lambda: d.GetIP(pb2.GetIPRequest(), timeout=timeout))
    d.Remove(pb2.RemoveRequest(), timeout=timeout)
    record_state()


def traceparent_interceptor_class():
    import grpc

    class Interceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
        def __init__(self, traceparent):
            self.metadata = [("traceparent", traceparent)]

        def _with_metadata(self, details):
            return details._replace(metadata=list(details.metadata or []) + self.metadata)

        def intercept_unary_unary(self, continuation, details, request):
            return continuation(self._with_metadata(details), request)

        def intercept_unary_stream(self, continuation, details, request):
            return continuation(self._with_metadata(details), request)

    return Interceptor


def TraceparentInterceptor(traceparent):
    return traceparent_interceptor_class()(traceparent)


def run(args, summary):
    import grpc

    s = stubs.load()
    private_dir = os.path.realpath(tempfile.mkdtemp(prefix="dp-", dir=args.socket_base))  # mkdtemp makes it 0700
    summary["privateDir"] = private_dir
    env = dict(os.environ)
    env.update({COOKIE_KEY: COOKIE_VALUE, "PLUGIN_PROTOCOL_VERSIONS": ",".join(map(str, API_VERSIONS)), "PLUGIN_UNIX_SOCKET_DIR": private_dir})
    for name in ("PLUGIN_MULTIPLEX_GRPC", "PLUGIN_CLIENT_CERT", "MACHINE_PLUGIN_SOCKET_DIR"):
        env.pop(name, None)
    started = time.monotonic()
    proc = subprocess.Popen([args.plugin], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=None)
    try:
        line = read_handshake(proc, START_TIMEOUT_S)
        summary["handshake"] = line
        summary["negotiatedVersion"], socket_path = check_handshake(line, private_dir)
        summary["socketPath"] = socket_path
        # Later stdout is the plugin's business: drain it so the pipe never fills.
        threading.Thread(target=lambda: shutil.copyfileobj(proc.stdout, sys.stderr.buffer), daemon=True).start()

        with grpc.insecure_channel("unix:" + socket_path) as plain:
            # Every call carries the traceparent, as an OpenTelemetry-instrumented host's would.
            channel = grpc.intercept_channel(plain, TraceparentInterceptor(args.traceparent)) if args.traceparent else plain
            health = stubs.health_check_stub(channel, s.health_pb2)
            status = health(s.health_pb2.HealthCheckRequest(service="plugin"), timeout=10, wait_for_ready=True).status
            summary["health"] = s.health_pb2.HealthCheckResponse.ServingStatus.Name(status)
            summary["launchMs"] = round((time.monotonic() - started) * 1000, 3)
            lifecycle(channel, s, args.store, summary)

            controller = s.controller_pb2_grpc.GRPCControllerStub(channel)
            stop_started = time.monotonic()
            controller.Shutdown(s.controller_pb2.Empty(), timeout=10)
        summary["exitCode"] = proc.wait(timeout=EXIT_TIMEOUT_S)
        summary["shutdownMs"] = round((time.monotonic() - stop_started) * 1000, 3)
        summary["socketGone"] = not os.path.lexists(socket_path)
        summary["leftInPrivateDir"] = os.listdir(private_dir)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(private_dir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugin", required=True)
    parser.add_argument("--store", required=True)
    parser.add_argument("--socket-base", default=None, help="where to make the private socket directory (default: the temp dir)")
    parser.add_argument("--traceparent", default=None, help="a W3C traceparent every call carries in its metadata")
    args = parser.parse_args()
    summary = {"ok": False, "states": [], "watched": [], "errorCodes": {}}
    try:
        run(args, summary)
        summary["ok"] = True
    except Exception as err:  # the summary line carries any failure to the test
        summary["error"] = f"{type(err).__name__}: {err}"
    print(json.dumps(summary), flush=True)
    sys.exit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()
