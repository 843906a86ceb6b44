"""Python stubs for the driverplug protos, generated on first use into a cache.

Debian's protoc (3.21) rejects the `debug_redact` option in driver.proto, so
the protos go through `buf build` first and protoc reads buf's descriptor set.
The output lands in node_modules/.cache/driverplug-interop/py-<hash of proto/>,
made in a temp dir and renamed into place so concurrent users never see half
of it. Run this file to (re)generate and print the directory.

grpc.health.v1's generated package would be named `grpc`, which the grpcio
package shadows, so health_pb2 is loaded from its file under another name and
the Health service is wired with generic handlers instead of its _pb2_grpc.
"""

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from types import SimpleNamespace

REPO = os.path.realpath(os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", ".."))
PROTO_DIR = os.path.join(REPO, "proto")
BUF = os.path.join(REPO, "node_modules", ".bin", "buf")
PROTOC = "/usr/bin/protoc"
GRPC_PYTHON_PLUGIN = "/usr/bin/grpc_python_plugin"
PROTO_FILES = [
    "driverplug/driver/v1/driver.proto",
    "grpc/health/v1/health.proto",
    "plugin/grpc_controller.proto",
    "plugin/grpc_stdio.proto",
]
INSTALL_HINT = "run test/interop/install-deps.sh (as root) to install the Debian packages the interop tests need"


class StubsError(Exception):
    """The stubs could not be generated; the message says what to install or fix."""


def _proto_hash():
    digest = hashlib.sha256()
    for root, _dirs, files in sorted(os.walk(PROTO_DIR)):
        for name in sorted(files):
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, PROTO_DIR).encode())
            with open(path, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()[:16]


def _require(path, what, hint):
    if not os.access(path, os.X_OK):
        raise StubsError(f"{what} not found at {path}: {hint}")


def _run(argv):
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise StubsError(f"{' '.join(argv)} failed with exit code {proc.returncode}: {proc.stderr.strip()}")


def generate():
    """Makes the stubs if the cache lacks them; returns their directory."""
    cache = os.path.join(REPO, "node_modules", ".cache", "driverplug-interop")
    out = os.path.join(cache, "py-" + _proto_hash())
    if os.path.isdir(out):
        return out
    _require(PROTOC, "protoc", INSTALL_HINT)
    _require(GRPC_PYTHON_PLUGIN, "grpc_python_plugin", INSTALL_HINT)
    _require(BUF, "buf", "run `npm ci` in the repository root")
    os.makedirs(cache, exist_ok=True)
    work = tempfile.mkdtemp(prefix="py-tmp-", dir=cache)
    try:
        descriptors = os.path.join(work, "protos.binpb")
        _run([BUF, "build", PROTO_DIR, "-o", descriptors])
        stubs = os.path.join(work, "stubs")
        os.mkdir(stubs)
        _run([
            PROTOC,
            "--descriptor_set_in=" + descriptors,
            "--python_out=" + stubs,
            "--grpc_python_out=" + stubs,
            "--plugin=protoc-gen-grpc_python=" + GRPC_PYTHON_PLUGIN,
            *PROTO_FILES,
        ])
        try:
            os.rename(stubs, out)
        except OSError:
            if not os.path.isdir(out):  # lost a race to another generator: theirs is as good
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def _load_file(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load():
    """Imports the generated modules; returns them in one namespace."""
    try:
        import grpc  # noqa: F401  (checked here so the message can say what to install)
        import google.protobuf  # noqa: F401
    except ImportError as err:
        raise StubsError(f"Python gRPC is missing ({err}): {INSTALL_HINT}") from err
    out = generate()
    if out not in sys.path:
        sys.path.insert(0, out)
    from driverplug.driver.v1 import driver_pb2, driver_pb2_grpc
    from plugin import grpc_controller_pb2, grpc_controller_pb2_grpc, grpc_stdio_pb2, grpc_stdio_pb2_grpc

    health_pb2 = _load_file("driverplug_interop_health_pb2", os.path.join(out, "grpc", "health", "v1", "health_pb2.py"))
    return SimpleNamespace(
        driver_pb2=driver_pb2,
        driver_pb2_grpc=driver_pb2_grpc,
        controller_pb2=grpc_controller_pb2,
        controller_pb2_grpc=grpc_controller_pb2_grpc,
        stdio_pb2=grpc_stdio_pb2,
        stdio_pb2_grpc=grpc_stdio_pb2_grpc,
        health_pb2=health_pb2,
    )


HEALTH_SERVICE = "grpc.health.v1.Health"


def health_check_stub(channel, health_pb2):
    """A callable for /grpc.health.v1.Health/Check on channel."""
    return channel.unary_unary(
        f"/{HEALTH_SERVICE}/Check",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )


def health_handler(health_pb2, statuses):
    """A generic handler serving Health.Check from statuses (service name -> ServingStatus)."""
    import grpc

    def check(request, context):
        if request.service not in statuses:
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        return health_pb2.HealthCheckResponse(status=statuses[request.service])

    return grpc.method_handlers_generic_handler(HEALTH_SERVICE, {
        "Check": grpc.unary_unary_rpc_method_handler(
            check,
            request_deserializer=health_pb2.HealthCheckRequest.FromString,
            response_serializer=health_pb2.HealthCheckResponse.SerializeToString,
        ),
    })


if __name__ == "__main__":
    try:
        print(generate())
    except StubsError as err:
        print(f"stubs.py: {err}", file=sys.stderr)
        sys.exit(1)
